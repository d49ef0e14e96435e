// The run report a person reads: reports/<date>.md (and .json for scripts) in the state bucket, and the SNS digest.
// Per repository: what was reaped since the last run, what is pending expiry, what is protected and why (the protection
// tags this run added or removed, each with its reason), what failed or was not done, and the $ at pricePerGbMonth.
import type { RepositoryRunReport, RunReport } from '../app/report-types.js';
import { monthlyCostUsd } from '../domain/report.js';

export interface ReportContext {
  /** Stack name (JANITOR_STACK), when run by the construct. */
  stack?: string;
  pricePerGbMonth: number;
}

export interface RunReportDocuments {
  /** Object key without extension, e.g. reports/2026-12-01 (the run's start date in UTC). */
  key: string;
  markdown: string;
  json: string;
  /** One line for the SNS subject (at most 100 characters, as SNS allows). */
  subject: string;
}

/** At most this many protection changes per repository in the markdown (the JSON has them all). */
const MAX_LISTED = 20;

export function runReportDocuments(report: RunReport, context: ReportContext): RunReportDocuments {
  const date = new Date(report.startedAt).toISOString().slice(0, 10);
  const { totals } = report;
  const where = context.stack ? ` (${context.stack})` : '';
  const problems = totals.failed + totals.blocked + totals.refused;
  const subject = truncate(
    `ecr-janitor${where} ${date}: ${totals.repositories} repositories, ${gib(totals.reaped.bytes)} reaped${problems > 0 ? `, ${problems} need attention` : ''}`,
    100,
  );
  return { key: `reports/${date}`, markdown: markdown(report, context, date), json: `${JSON.stringify(jsonDocument(report, context, date), null, 2)}\n`, subject };
}

function markdown(report: RunReport, context: ReportContext, date: string): string {
  const { totals } = report;
  const price = context.pricePerGbMonth;
  const ok = totals.repositories - totals.failed - totals.blocked - totals.refused;
  const lines = [
    `# ecr-janitor run ${date}${context.stack ? ` — ${context.stack}` : ''}`,
    '',
    `${report.mode}${report.dryRun ? ' (dry run: nothing was changed)' : ''}, ${time(report.startedAt)}–${time(report.finishedAt)} UTC. ` +
      `${totals.repositories} repositories: ${ok} ok, ${totals.failed} failed, ${totals.blocked} blocked, ${totals.refused} refused.`,
    '',
    `- **Reaped since the last run:** ${totals.reaped.images} images, ${gib(totals.reaped.bytes)}, about $${totals.estimatedMonthlySavingsUsd.toFixed(2)}/month saved`,
    `- **Pending expiry** (ECR's lifecycle expires them within a day): ${totals.pendingExpiry.images} images, ${gib(totals.pendingExpiry.bytes)}`,
    `- **Protected** (pinned by a deployment or the config): ${totals.protected.images} images, ${gib(totals.protected.bytes)}`,
    ...(report.noRepositories ? [`- **Nothing was done:** ${report.noRepositories}`] : []),
    ...(report.stalePins ?? []).map((s) => `- **Stale org pins publisher** ${s.publisher}: last published ${new Date(s.lastPublishedAt).toISOString()}; its last pins stay protected`),
    '',
  ];
  if (report.repositories.length > 0) {
    lines.push('| repository | status | reaped | $/month saved | pending expiry | protected | tags +/- | policy |', '|---|---|---:|---:|---:|---:|---:|---|');
    for (const r of report.repositories) {
      lines.push(
        `| ${r.repository} | ${r.status} | ${r.reaped.images} (${gib(r.reaped.bytes)}) | $${monthlyCostUsd(r.reaped.bytes, price).toFixed(2)} | ` +
          `${r.pendingExpiry.images} (${gib(r.pendingExpiry.bytes)}) | ${r.protected.images} | +${r.actions.tagsAdded} / -${r.actions.tagsRemoved} | ${policyWord(r)} |`,
      );
    }
    lines.push('');
  }
  const attention = report.repositories.filter((r) => r.status !== 'ok' || r.actions.failures.length > 0);
  if (attention.length > 0) {
    lines.push('## Needs attention', '');
    for (const r of attention) {
      lines.push(`- **${r.repository}** ${r.status}: ${reasonOf(r) ?? 'see failures'}`);
      for (const f of r.actions.failures) lines.push(`  - ${f.code}${f.tag ? ` ${f.tag}` : ''}${f.digest ? ` ${short(f.digest)}` : ''}: ${f.message}`);
    }
    lines.push('');
  }
  const protections = report.repositories.filter((r) => (r.plan?.protectTags.add.length ?? 0) + (r.plan?.protectTags.remove.length ?? 0) > 0);
  if (protections.length > 0) {
    lines.push('## Protection changes and why', '');
    for (const r of protections) {
      const { add, remove } = r.plan!.protectTags;
      for (const change of add.slice(0, MAX_LISTED)) lines.push(`- ${r.repository}: protect ${short(change.digest)} (\`${change.tag}\`): ${change.reason}`);
      for (const change of remove.slice(0, MAX_LISTED)) lines.push(`- ${r.repository}: release ${short(change.digest)} (\`${change.tag}\`): ${change.reason}`);
      const more = Math.max(0, add.length - MAX_LISTED) + Math.max(0, remove.length - MAX_LISTED);
      if (more > 0) lines.push(`- ${r.repository}: ${more} more in the JSON report`);
    }
    lines.push('');
  }
  const notDone = report.repositories.filter((r) => r.actions.notDone.length > 0);
  if (notDone.length > 0) {
    lines.push('## Not done', '');
    for (const r of notDone) for (const item of r.actions.notDone.slice(0, MAX_LISTED)) lines.push(`- ${r.repository}: ${item}`);
    lines.push('');
  }
  lines.push(`Sizes are billable manifest bytes (GiB = 2^30 bytes); $ at $${price}/GB-month, an upper bound since layers shared by images are billed once.`);
  return `${lines.join('\n')}\n`;
}

function jsonDocument(report: RunReport, context: ReportContext, date: string) {
  return {
    date,
    ...(context.stack ? { stack: context.stack } : {}),
    startedAt: new Date(report.startedAt).toISOString(),
    finishedAt: new Date(report.finishedAt).toISOString(),
    mode: report.mode,
    dryRun: report.dryRun,
    totals: report.totals,
    ...(report.noRepositories ? { noRepositories: report.noRepositories } : {}),
    ...(report.stalePins ? { stalePins: report.stalePins } : {}),
    repositories: report.repositories.map((r) => ({
      repository: r.repository,
      status: r.status,
      ...(reasonOf(r) ? { reason: reasonOf(r) } : {}),
      ...(r.unchanged ? { unchanged: r.unchanged } : {}),
      reaped: r.reaped,
      estimatedMonthlySavingsUsd: monthlyCostUsd(r.reaped.bytes, context.pricePerGbMonth),
      pendingExpiry: r.pendingExpiry,
      expireNow: r.expireNow,
      protected: r.protected,
      actions: r.actions,
      protectTags: r.plan ? r.plan.protectTags : { add: [], remove: [] },
    })),
  };
}

function reasonOf(r: RepositoryRunReport): string | undefined {
  return r.error ?? r.blocked ?? r.refused;
}

function policyWord(r: RepositoryRunReport): string {
  if (r.actions.policyHeld) return 'on hold';
  if (r.actions.policyInstalled) return 'installed';
  if (r.unchanged) return 'unchanged (not re-read)';
  return r.plan?.policy.action ?? '—';
}

function gib(bytes: number): string {
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function time(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function short(digest: string): string {
  return digest.slice(0, 19);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
