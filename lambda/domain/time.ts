// Durations in epoch milliseconds, defined once for lambda/ (the emulator keeps its own).
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** ECR expires an eligible image within a day; the next run is a day away: a hold looks that far ahead, with slack. */
export const HOLD_HORIZON_MS = 26 * HOUR_MS;
