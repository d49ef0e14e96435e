// Durations in epoch milliseconds, defined once for lambda/ (the emulator keeps its own).
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
