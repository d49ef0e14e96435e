// Human and JSON renderings of a run report for the CLI.
import type { RunReport } from '../lambda/app/report-types.js';
import { monthlyCostUsd } from '../lambda/domain/report.js';
import type { Decision, ImageDecision } from '../lambda/domain/types.js';

const DECISIONS: Decision[] = ['keep', 'protect', 'expire', 'pending'];

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** The stable `plan --json` shape (DESIGN.md): scripts rely on it. */
export function planJson(report: RunReport) {
  return {
    repositories: report.repositories.map((r) => ({
      name: r.repository,
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
      ...(r.blocked ? { blocked: r.blocked } : {}),
      ...(r.refused ? { refused: r.refused } : {}),
      images: (r.plan?.images ?? []).map((i) => ({
        digest: i.digest,
        tags: i.tags,
        bytes: i.bytes,
        decision: i.decision,
        reason: i.reason,
        ...(i.rule !== undefined ? { rule: i.rule } : {}),
      })),
      policy: r.plan ? { action: r.plan.policy.action, reason: r.plan.policy.reason, text: r.plan.policy.desiredText, warnings: r.plan.policy.warnings } : null,
      protectTags: r.plan ? r.plan.protectTags : { add: [], remove: [] },
      totals: r.plan?.totals ?? null,
      // keepPulledWithinDays: how many images a recent pull keeps (issue 10).
      ...(r.plan?.recentPulls ? { recentPulls: r.plan.recentPulls } : {}),
      reaped: r.reaped,
      actions: r.actions,
    })),
    totals: report.totals,
    ...(report.stalePins ? { stalePins: report.stalePins } : {}),
    apiCalls: report.apiCalls,
  };
}

export function formatReport(report: RunReport, options: { pricePerGbMonth: number; listLimit?: number }): string {
  const lines: string[] = [];
  const limit = options.listLimit ?? 20;
  const price = (bytes: number) => `$${monthlyCostUsd(bytes, options.pricePerGbMonth).toFixed(2)}`;
  for (const repo of report.repositories) {
    lines.push('', `Repository ${repo.repository}: ${repo.status}${repo.error ? ` (${repo.error})` : ''}`);
    if (repo.blocked) lines.push(`  blocked: ${repo.blocked}`);
    if (repo.refused) lines.push(`  refused: ${repo.refused}`);
    const plan = repo.plan;
    if (!plan) continue;
    lines.push(`  policy: ${plan.policy.action} (${plan.policy.reason})`);
    if (repo.actions.policyHeld && plan.policy.action !== 'hold') {
      lines.push('  policy put on hold: protection tags failed to go in, so the installed policy expires nothing until a run completes them');
    }
    for (const warning of plan.policy.warnings) lines.push(`  policy warning: ${warning}`);
    lines.push(`  ${pad('DECISION', 9)}${padLeft('IMAGES', 8)}${padLeft('SIZE', 12)}${padLeft('$/MONTH', 10)}`);
    for (const decision of DECISIONS) {
      const t = plan.totals[decision];
      lines.push(`  ${pad(decision, 9)}${padLeft(String(t.images), 8)}${padLeft(formatBytes(t.bytes), 12)}${padLeft(price(t.bytes), 10)}`);
    }
    lines.push(`  ${pad('TOTAL', 9)}${padLeft(String(plan.totals.images), 8)}${padLeft(formatBytes(plan.totals.bytes), 12)}${padLeft(price(plan.totals.bytes), 10)}`);
    lines.push(`  protection tags: +${plan.protectTags.add.length} -${plan.protectTags.remove.length}; reaped since last run: ${repo.reaped.images} images, ${formatBytes(repo.reaped.bytes)}`);
    for (const decision of ['expire', 'pending', 'protect'] as const) {
      const images = plan.images.filter((i) => i.decision === decision);
      for (const image of images.slice(0, limit)) lines.push(`    ${imageLine(image)}`);
      if (images.length > limit) lines.push(`    ... ${images.length - limit} more ${decision} (see --json)`);
    }
    for (const change of plan.protectTags.add.slice(0, limit)) lines.push(`    + ${change.tag}: ${change.reason}`);
    for (const change of plan.protectTags.remove.slice(0, limit)) lines.push(`    - ${change.tag}: ${change.reason}`);
    for (const warning of plan.warnings.slice(0, limit)) lines.push(`  warning: ${warning}`);
    for (const failure of repo.actions.failures) lines.push(`  FAILED ${failure.code} ${failure.tag ?? failure.digest ?? ''}: ${failure.message}`);
    if (repo.actions.notDone.length > 0 && report.mode === 'run') {
      for (const item of repo.actions.notDone.slice(0, limit)) lines.push(`  not done: ${item}`);
    }
  }
  const t = report.totals;
  lines.push(
    '',
    `${t.repositories} repositories (${t.failed} failed, ${t.blocked} blocked, ${t.refused} refused); reaped since last run: ${t.reaped.images} images, ` +
      `${formatBytes(t.reaped.bytes)} (~$${t.estimatedMonthlySavingsUsd.toFixed(2)}/month); pending expiry: ${t.pendingExpiry.images} images, ` +
      `${formatBytes(t.pendingExpiry.bytes)}; protected: ${t.protected.images}`,
    `API calls: ${Object.entries(report.apiCalls).map(([op, n]) => `${op} ${n}`).join(', ') || 'none'}`,
  );
  for (const stale of report.stalePins ?? []) {
    lines.push(`STALE org pins publisher ${stale.publisher}: last published ${new Date(stale.lastPublishedAt).toISOString()}; its last pins stay protected`);
  }
  return lines.join('\n');
}

function imageLine(image: ImageDecision): string {
  const listed = image.tags.length > 0 ? image.tags.slice(0, 2).join(',') : '<untagged>';
  const tags = listed.length > 28 ? `${listed.slice(0, 27)}…` : listed;
  return `${pad(image.decision, 8)} ${image.digest.slice(0, 19)}  ${pad(image.kind, 12)}${pad(tags, 28)} ${padLeft(formatBytes(image.bytes), 10)}  ${image.reason}`;
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length);
}

function padLeft(text: string, width: number): string {
  return text.length >= width ? ` ${text}` : ' '.repeat(width - text.length) + text;
}
