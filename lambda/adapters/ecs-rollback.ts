// Rollback depth for ECS: the task definition revisions just before a service's current one, whose images a rollback
// (UpdateService to the previous revision) would start again. A revision is `family:N`; revisions of one family are
// numbered in order (Amazon ECS API Reference, "RegisterTaskDefinition"), deregistered ones stay describable
// ("DeregisterTaskDefinition": INACTIVE revisions can still be described), deleted ones are gone.

/** `family:N-1`, ..., down to `rollbackDepth - 1` revisions back (the current one counts as the first of K). */
export function previousRevisions(taskDefinitionArn: string, rollbackDepth: number): { arn: string; back: number }[] {
  const match = /^(.*:task-definition\/[^:]+):(\d+)$/.exec(taskDefinitionArn);
  if (!match) return [];
  const [, family, revision] = match;
  const current = Number(revision);
  const previous: { arn: string; back: number }[] = [];
  for (let back = 1; back < rollbackDepth && current - back >= 1; back++) previous.push({ arn: `${family}:${current - back}`, back });
  return previous;
}

/** A revision that was deleted (or never existed: numbers can be shared by services of one family) pins nothing. */
export function isMissingTaskDefinition(error: unknown): boolean {
  const { name, message } = error as { name?: string; message?: string };
  return name === 'ClientException' && /unable to describe task definition|does not exist|not found/i.test(message ?? '');
}
