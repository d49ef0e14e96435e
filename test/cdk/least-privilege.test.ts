// Least privilege (issue 13): opt-in by repository tag in IAM, a permissions boundary and a fixed role name for
// organizations that require them, and a state bucket nobody but the janitor writes. One synth per setup, stand-in code.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambda/domain/config.js';
import { buildApp } from '../../lib/app.js';
import { EcrJanitor, type JanitorConfigInput } from '../../lib/ecr-janitor.js';
import { flattenCfnReference } from '../../lib/nag.js';
import { ECR_REPOSITORY_READ_ACTIONS, ECR_WRITE_ACTIONS, STATE_WRITE_ACTIONS } from '../../lib/permissions.js';
import { ACCOUNT, ENV, FAKE_CODE, statement, statements } from './support.js';

const TAG = { key: 'ecr-janitor', value: 'managed' };
const BREAK_GLASS = `arn:aws:iam::${ACCOUNT}:role/ecr-janitor-break-glass`;
const OPT_IN: JanitorConfigInput = { repositories: { include: ['team-*', 'app'], exclude: ['team-secret*'], tag: TAG }, pins: { ecs: true, lambda: true } };
/** Every ECR action the role may hold: the repository reads and writes, listing, and the registry id. */
const ECR_ACTIONS_ALLOWED = new Set<string>([...ECR_WRITE_ACTIONS, ...ECR_REPOSITORY_READ_ACTIONS, 'ecr:DescribeRepositories', 'ecr:ListTagsForResource', 'ecr:DescribeRegistry']);

function synth(config: JanitorConfigInput, extra: Partial<ConstructorParameters<typeof EcrJanitor>[2]> = {}) {
  const stack = new Stack(new App(), 'Test', { env: ENV });
  new EcrJanitor(stack, 'Janitor', { config, code: FAKE_CODE, ...extra });
  return { stack, template: Template.fromStack(stack) };
}

function resourceOfType(template: Template, type: string): { Properties: Record<string, unknown> } {
  const found = Object.values(template.findResources(type));
  expect(found).toHaveLength(1);
  return found[0] as { Properties: Record<string, unknown> };
}

/** The function's role (the schedule has a role of its own, assumed by EventBridge Scheduler). */
function functionRole(template: Template): Record<string, unknown> {
  const roles = Object.values(template.findResources('AWS::IAM::Role')) as { Properties: Record<string, unknown> }[];
  const lambdaRoles = roles.filter((r) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'));
  expect(lambdaRoles).toHaveLength(1);
  return lambdaRoles[0]!.Properties;
}

describe('with repositories.tag, a boundary, a role name and a break-glass role', () => {
  let stack: Stack;
  let template: Template;
  beforeAll(() => {
    // Prepare: one stack for these tests.
    ({ stack, template } = synth(OPT_IN, { rolePermissionsBoundary: 'org-boundary', roleName: 'ecr-janitor-{region}', stateBreakGlassRole: BREAK_GLASS }));
  });

  it('puts the aws:ResourceTag condition on every statement that allows an ECR write', () => {
    // Act
    const writes = statements(template).filter((s) => s.Effect === 'Allow' && s.actions.some((a) => (ECR_WRITE_ACTIONS as readonly string[]).includes(a)));

    // Assess
    expect(writes.length).toBeGreaterThan(0);
    for (const write of writes) expect(write.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/ecr-janitor': 'managed' } });
    expect(statement(template, 'ReadManagedRepositories').Condition).toEqual({ StringEquals: { 'aws:ResourceTag/ecr-janitor': 'managed' } });
  });

  it('allows no other ECR write (no TagResource: the role cannot opt a repository in by itself)', () => {
    // Act
    const ecrActions = statements(template)
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => s.actions)
      .filter((a) => a.startsWith('ecr:'));

    // Assess
    expect(ecrActions.filter((a) => !ECR_ACTIONS_ALLOWED.has(a))).toEqual([]);
    expect(ecrActions).not.toContain('ecr:TagResource');
  });

  it('may read repository tags, to select the repositories that opted in', () => {
    // Act
    const listing = statement(template, 'ListRepositories');

    // Assess
    expect(listing.actions).toEqual(['ecr:DescribeRepositories', 'ecr:ListTagsForResource']);
    expect(listing.Condition).toBeUndefined();
  });

  it('keeps the include/exclude globs in the ARNs beside the tag condition', () => {
    // Act
    const write = statement(template, 'WriteManagedRepositories');
    const deny = statement(template, 'NeverWriteExcludedRepositories');

    // Assess
    expect(write.resources.map((r) => r.replace(/^.*:repository\//, ''))).toEqual(['team-*', 'app']);
    expect(deny.resources.map((r) => r.replace(/^.*:repository\//, ''))).toEqual(['team-secret*']);
  });

  it('puts the permissions boundary on the role and gives it the fixed name', () => {
    // Act
    const role = functionRole(template);

    // Assess
    expect(flattenCfnReference(role.PermissionsBoundary)).toMatch(new RegExp(`^arn:<AWS::Partition>:iam::${ACCOUNT}:policy/org-boundary$`));
    expect(role.RoleName).toBe('ecr-janitor-eu-west-1');
  });

  it('denies state/* writes to every principal but the function role and the break-glass role', () => {
    // Act
    const policy = resourceOfType(template, 'AWS::S3::BucketPolicy').Properties as { PolicyDocument: { Statement: Record<string, unknown>[] } };
    const guard = policy.PolicyDocument.Statement.find((s) => s.Sid === 'OnlyTheJanitorWritesState')!;

    // Assess
    expect(guard).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' } });
    expect(guard.Action).toEqual([...STATE_WRITE_ACTIONS]);
    expect(guard.Action).toEqual(expect.arrayContaining(['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion']));
    expect(flattenCfnReference(guard.Resource)).toMatch(/^<JanitorStateBucket\w+\.Arn>\/state\/\*$/);
    const writers = (guard.Condition as { ArnNotEquals: { 'aws:PrincipalArn': unknown[] } }).ArnNotEquals['aws:PrincipalArn'];
    expect(writers.map(flattenCfnReference)).toEqual([expect.stringMatching(/^<JanitorRole\w+\.Arn>$/), BREAK_GLASS]);
  });

  it('still passes cdk-nag AwsSolutions', () => {
    // Act
    const violations = new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName);

    // Assess
    expect(violations).toEqual([]);
  });
});

describe('without repositories.tag', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synth({ repositories: { include: ['team-*'] } }));
  });

  it('reads no repository tags and puts no tag condition on writes', () => {
    expect(statement(template, 'ListRepositories').actions).toEqual(['ecr:DescribeRepositories']);
    expect(statement(template, 'WriteManagedRepositories').Condition).toBeUndefined();
  });

  it('lets only the function role write state, with no boundary and a generated role name', () => {
    const policy = resourceOfType(template, 'AWS::S3::BucketPolicy').Properties as { PolicyDocument: { Statement: Record<string, unknown>[] } };
    const guard = policy.PolicyDocument.Statement.find((s) => s.Sid === 'OnlyTheJanitorWritesState')!;
    expect((guard.Condition as { ArnNotEquals: { 'aws:PrincipalArn': unknown[] } }).ArnNotEquals['aws:PrincipalArn']).toHaveLength(1);
    const role = functionRole(template);
    expect(role.PermissionsBoundary).toBeUndefined();
    expect(role.RoleName).toBeUndefined();
  });
});

describe('roleName', () => {
  it('refuses a name IAM would refuse, naming the prop', () => {
    // Act
    const build = () => synth({}, { roleName: 'ecr janitor' });

    // Assess
    expect(build).toThrow(/roleName must be an IAM role name/);
  });
});

describe('context: -c permissionsBoundary, -c roleName, -c stateBreakGlassRoleArn', () => {
  it('applies them to the stack', () => {
    // Prepare
    const app = new App({ context: { permissionsBoundary: `arn:aws:iam::${ACCOUNT}:policy/org-boundary`, roleName: 'ecr-janitor', stateBreakGlassRoleArn: BREAK_GLASS } });

    // Act
    const template = Template.fromStack(buildApp(app, { code: FAKE_CODE, env: { CDK_DEFAULT_ACCOUNT: ACCOUNT, CDK_DEFAULT_REGION: 'eu-west-1' } })[0]!);

    // Assess
    const role = functionRole(template);
    expect(role.PermissionsBoundary).toBe(`arn:aws:iam::${ACCOUNT}:policy/org-boundary`);
    expect(role.RoleName).toBe('ecr-janitor');
    expect(JSON.stringify(template.findResources('AWS::S3::BucketPolicy'))).toContain(BREAK_GLASS);
  });

  it.each([
    [{ permissionsBoundary: 'not a policy!' }, 'permissionsBoundary'],
    [{ roleName: 'x'.repeat(65) }, 'roleName'],
    [{ stateBreakGlassRoleArn: 'break-glass' }, 'stateBreakGlassRoleArn'],
    [{ roleName: 'ecr-janitor', accounts: [`${ACCOUNT}/eu-west-1`, `${ACCOUNT}/us-east-1`] }, 'roleName'],
  ])('refuses %j, naming %s', (context, field) => {
    // Act
    let error: unknown;
    try {
      buildApp(new App({ context }), { code: FAKE_CODE, env: {} });
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual([field]);
  });
});
