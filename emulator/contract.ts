// ECR's API contract: every request's input checked against the service model before the emulator acts on it, so a
// request AWS would refuse is refused here too (and counted), instead of the emulator being kinder than ECR.
//
// Structure (operations, members, required members, member types) comes from the service model shipped in the aws-sdk
// v2 package, node_modules/aws-sdk/apis/ecr-2015-09-21.min.json. That file is the "min" form: it carries no length,
// pattern, enum or range traits, and it predates the 2025 additions (archive storage class, OCI referrers, tag
// mutability exclusions). Both are filled in below from the Amazon ECR API Reference ("Actions" and "Data Types"
// pages, https://docs.aws.amazon.com/AmazonECR/latest/APIReference/), with enum values from @aws-sdk/client-ecr.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  ArtifactStatusFilter,
  ImageStatusFilter,
  ImageTagMutability,
  ImageTagMutabilityExclusionFilterType,
  TagStatus,
  TargetStorageClass,
} from '@aws-sdk/client-ecr';

type Shape =
  | { type: 'structure'; required: readonly string[]; members: Readonly<Record<string, Shape>> }
  | { type: 'list'; member: Shape }
  | { type: 'map'; key: Shape; value: Shape }
  | { type: 'string' | 'integer' | 'long' | 'boolean' | 'timestamp' | 'blob' | 'double' | 'float' };

interface RawShape {
  type?: string;
  shape?: string;
  required?: string[];
  members?: Record<string, RawShape>;
  member?: RawShape;
  key?: RawShape;
  value?: RawShape;
}

interface RawModel {
  operations: Record<string, { input?: RawShape }>;
  shapes: Record<string, RawShape>;
}

/** The traits the min model drops, from the API reference. */
interface Constraint {
  min?: number;
  max?: number;
  pattern?: RegExp;
  enum?: readonly string[];
  minItems?: number;
  maxItems?: number;
}

// API Reference, Data Types / Actions pages. Keyed by member name: ECR uses each name with one meaning in requests.
const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const MEMBER_CONSTRAINTS: Readonly<Record<string, Constraint>> = {
  repositoryName: { min: 2, max: 256, pattern: REPOSITORY_NAME },
  registryId: { pattern: /^[0-9]{12}$/ },
  imageTag: { min: 1, max: 300 },
  imageManifest: { min: 1, max: 4_194_304 },
  imageManifestMediaType: { min: 1 },
  lifecyclePolicyText: { min: 100, max: 30_720 },
  imageIds: { minItems: 1, maxItems: 100 },
  repositoryNames: { minItems: 1, maxItems: 100 },
  acceptedMediaTypes: { minItems: 1, maxItems: 100 },
  tagStatus: { enum: Object.values(TagStatus) },
  imageStatus: { enum: Object.values(ImageStatusFilter) },
  artifactStatus: { enum: Object.values(ArtifactStatusFilter) },
  imageTagMutability: { enum: Object.values(ImageTagMutability) },
  imageTagMutabilityExclusionFilters: { minItems: 1, maxItems: 5 },
  targetStorageClass: { enum: Object.values(TargetStorageClass) },
};

/** maxResults ranges differ per operation (API reference of each action). */
const MAX_RESULTS: Readonly<Record<string, Constraint>> = {
  DescribeImages: { min: 1, max: 1000 },
  ListImages: { min: 1, max: 1000 },
  DescribeRepositories: { min: 1, max: 1000 },
  GetLifecyclePolicyPreview: { min: 1, max: 100 },
  ListImageReferrers: { min: 1, max: 50 },
};

/** Constraints that hold only under one parent member. */
const NESTED_CONSTRAINTS: Readonly<Record<string, Constraint>> = {
  'imageTagMutabilityExclusionFilters.filterType': { enum: Object.values(ImageTagMutabilityExclusionFilterType) },
  'imageTagMutabilityExclusionFilters.filter': { min: 1, max: 128, pattern: /^[0-9a-zA-Z._*-]{1,128}$/ },
};

const STRING: Shape = { type: 'string' };
const IMAGE_ID: Shape = { type: 'structure', required: [], members: { imageDigest: STRING, imageTag: STRING } };
const EXCLUSION_FILTERS: Shape = {
  type: 'list',
  member: { type: 'structure', required: ['filter', 'filterType'], members: { filter: STRING, filterType: STRING } },
};

/** Operations the v2 model predates (API reference, 2025). */
const NEWER_OPERATIONS: Readonly<Record<string, Shape>> = {
  ListImageReferrers: {
    type: 'structure',
    required: ['repositoryName', 'subjectId'],
    members: {
      registryId: STRING,
      repositoryName: STRING,
      subjectId: { type: 'structure', required: ['imageDigest'], members: { imageDigest: STRING } },
      filter: { type: 'structure', required: [], members: { artifactTypes: { type: 'list', member: STRING }, artifactStatus: STRING } },
      nextToken: STRING,
      maxResults: { type: 'integer' },
    },
  },
  UpdateImageStorageClass: {
    type: 'structure',
    required: ['repositoryName', 'imageId', 'targetStorageClass'],
    members: { registryId: STRING, repositoryName: STRING, imageId: IMAGE_ID, targetStorageClass: STRING },
  },
};

/** Members the v2 model predates, added to operations it has: operation -> member path -> shape. */
const NEWER_MEMBERS: Readonly<Record<string, Readonly<Record<string, Shape>>>> = {
  DescribeImages: { 'filter.imageStatus': STRING },
  ListImages: { 'filter.imageStatus': STRING },
  CreateRepository: { imageTagMutabilityExclusionFilters: EXCLUSION_FILTERS },
  PutImageTagMutability: { imageTagMutabilityExclusionFilters: EXCLUSION_FILTERS },
};

function loadRawModel(): RawModel {
  const require = createRequire(import.meta.url);
  const path = require.resolve('aws-sdk/apis/ecr-2015-09-21.min.json');
  return JSON.parse(readFileSync(path, 'utf8')) as RawModel;
}

function resolveShape(raw: RawShape, shapes: Record<string, RawShape>, depth = 0): Shape {
  if (depth > 20) throw new Error('the ECR model nests deeper than 20 levels');
  const node = raw.shape !== undefined ? { ...shapes[raw.shape], ...raw, shape: undefined } : raw;
  if (raw.shape !== undefined && shapes[raw.shape] === undefined) throw new Error(`the ECR model references unknown shape ${raw.shape}`);
  switch (node.type ?? 'string') {
    case 'structure': {
      const members: Record<string, Shape> = {};
      for (const [name, member] of Object.entries(node.members ?? {})) members[name] = resolveShape(member, shapes, depth + 1);
      return { type: 'structure', required: node.required ?? [], members };
    }
    case 'list':
      return { type: 'list', member: resolveShape(node.member ?? {}, shapes, depth + 1) };
    case 'map':
      return { type: 'map', key: resolveShape(node.key ?? {}, shapes, depth + 1), value: resolveShape(node.value ?? {}, shapes, depth + 1) };
    case 'integer':
    case 'long':
    case 'boolean':
    case 'timestamp':
    case 'blob':
    case 'double':
    case 'float':
      return { type: node.type as 'integer' };
    default:
      return STRING;
  }
}

function withMember(shape: Shape, path: string[], added: Shape): Shape {
  if (shape.type !== 'structure') throw new Error(`cannot add ${path.join('.')} to a ${shape.type}`);
  const [head, ...rest] = path as [string, ...string[]];
  const members = { ...shape.members };
  members[head] = rest.length === 0 ? added : withMember(members[head] ?? { type: 'structure', required: [], members: {} }, rest, added);
  return { ...shape, members };
}

let loaded: ReadonlyMap<string, Shape> | undefined;

/** Operation name -> input shape: the v2 model plus what came after it (read once per process). */
export function loadEcrContract(): ReadonlyMap<string, Shape> {
  loaded ??= buildContract();
  return loaded;
}

function buildContract(): ReadonlyMap<string, Shape> {
  const raw = loadRawModel();
  const inputs = new Map<string, Shape>();
  for (const [name, operation] of Object.entries(raw.operations)) {
    let input = resolveShape(operation.input ?? { type: 'structure', members: {} }, raw.shapes);
    for (const [path, added] of Object.entries(NEWER_MEMBERS[name] ?? {})) input = withMember(input, path.split('.'), added);
    inputs.set(name, input);
  }
  for (const [name, input] of Object.entries(NEWER_OPERATIONS)) inputs.set(name, input);
  return inputs;
}

/** One broken constraint, worded as AWS words it. */
export interface ContractViolation {
  /** Where, as AWS names it: `imageIds.1.imageTag` (lists count from 1). */
  path: string;
  constraint: string;
  /** The offending value, shortened, for the message. */
  value?: string;
  /** 'shape' violations are type errors (AWS answers SerializationException), the rest are validation errors. */
  kind: 'shape' | 'validation';
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function constraintFor(operation: string, path: readonly string[]): Constraint | undefined {
  const name = path.at(-1)!;
  if (path.length === 1 && name === 'maxResults') return MAX_RESULTS[operation];
  const namedPath = path.filter((part) => !/^\d+$/.test(part));
  const nested = namedPath.length >= 2 ? NESTED_CONSTRAINTS[namedPath.slice(-2).join('.')] : undefined;
  return nested ?? MEMBER_CONSTRAINTS[name];
}

function check(operation: string, shape: Shape, value: unknown, path: string[], out: ContractViolation[]): void {
  const at = path.join('.');
  const constraint = path.length > 0 ? constraintFor(operation, path) : undefined;
  switch (shape.type) {
    case 'structure': {
      if (!isRecord(value)) {
        out.push({ path: at, constraint: 'Member must be a structure', value: shown(value), kind: 'shape' });
        return;
      }
      for (const required of shape.required) {
        if (value[required] === undefined || value[required] === null) {
          out.push({ path: [...path, required].join('.'), constraint: 'Member must not be null', kind: 'validation' });
        }
      }
      for (const [name, member] of Object.entries(value)) {
        const memberShape = shape.members[name];
        if (memberShape === undefined) {
          // AWS ignores members it does not model; the emulator refuses them so a misspelt member cannot pass silently.
          out.push({ path: [...path, name].join('.'), constraint: 'Member is not in the ECR service model', kind: 'shape' });
          continue;
        }
        if (member === null || member === undefined) continue;
        check(operation, memberShape, member, [...path, name], out);
      }
      return;
    }
    case 'list': {
      if (!Array.isArray(value)) {
        out.push({ path: at, constraint: 'Member must be a list', value: shown(value), kind: 'shape' });
        return;
      }
      if (constraint?.minItems !== undefined && value.length < constraint.minItems) {
        out.push({ path: at, constraint: `Member must have length greater than or equal to ${constraint.minItems}`, value: shown(value), kind: 'validation' });
      }
      if (constraint?.maxItems !== undefined && value.length > constraint.maxItems) {
        out.push({ path: at, constraint: `Member must have length less than or equal to ${constraint.maxItems}`, value: `[${value.length} items]`, kind: 'validation' });
      }
      value.forEach((entry, i) => check(operation, shape.member, entry, [...path, String(i + 1)], out));
      return;
    }
    case 'map': {
      if (!isRecord(value)) out.push({ path: at, constraint: 'Member must be a map', value: shown(value), kind: 'shape' });
      return;
    }
    case 'integer':
    case 'long': {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        out.push({ path: at, constraint: 'Member must be an integer', value: shown(value), kind: 'shape' });
        return;
      }
      if (constraint?.min !== undefined && value < constraint.min) {
        out.push({ path: at, constraint: `Member must have value greater than or equal to ${constraint.min}`, value: String(value), kind: 'validation' });
      }
      if (constraint?.max !== undefined && value > constraint.max) {
        out.push({ path: at, constraint: `Member must have value less than or equal to ${constraint.max}`, value: String(value), kind: 'validation' });
      }
      return;
    }
    case 'double':
    case 'float':
    case 'timestamp':
      if (typeof value !== 'number') out.push({ path: at, constraint: 'Member must be a number', value: shown(value), kind: 'shape' });
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.push({ path: at, constraint: 'Member must be a boolean', value: shown(value), kind: 'shape' });
      return;
    case 'blob':
      if (typeof value !== 'string') out.push({ path: at, constraint: 'Member must be base64 text', value: shown(value), kind: 'shape' });
      return;
    case 'string': {
      if (typeof value !== 'string') {
        out.push({ path: at, constraint: 'Member must be a string', value: shown(value), kind: 'shape' });
        return;
      }
      if (constraint?.min !== undefined && value.length < constraint.min) {
        out.push({ path: at, constraint: `Member must have length greater than or equal to ${constraint.min}`, value: shown(value), kind: 'validation' });
      }
      if (constraint?.max !== undefined && value.length > constraint.max) {
        out.push({ path: at, constraint: `Member must have length less than or equal to ${constraint.max}`, value: shown(value), kind: 'validation' });
      }
      if (constraint?.pattern !== undefined && !constraint.pattern.test(value)) {
        out.push({ path: at, constraint: `Member must satisfy regular expression pattern: ${constraint.pattern.source}`, value: shown(value), kind: 'validation' });
      }
      if (constraint?.enum !== undefined && !constraint.enum.includes(value)) {
        out.push({ path: at, constraint: `Member must satisfy enum value set: [${constraint.enum.join(', ')}]`, value: shown(value), kind: 'validation' });
      }
      return;
    }
  }
}

export class EcrContract {
  private readonly inputs: ReadonlyMap<string, Shape>;

  constructor(inputs: ReadonlyMap<string, Shape> = loadEcrContract()) {
    this.inputs = inputs;
  }

  knows(operation: string): boolean {
    return this.inputs.has(operation);
  }

  /** Every broken constraint of one request body; empty when AWS would accept its shape. */
  violations(operation: string, body: unknown): ContractViolation[] {
    const input = this.inputs.get(operation);
    if (!input) return [{ path: '', constraint: `Operation ${operation} is not in the ECR service model`, kind: 'shape' }];
    const out: ContractViolation[] = [];
    check(operation, input, body, [], out);
    return out;
  }
}

/**
 * The error AWS answers, by the AWS JSON 1.1 protocol's conventions: a body of the wrong type is a
 * SerializationException; a broken constraint is, at ECR, an InvalidParameterException worded "Invalid parameter at
 * '<member>' failed to satisfy constraint: '<constraint>'" (several: "N validation errors detected: ...").
 */
export function contractError(violations: readonly ContractViolation[]): { code: string; message: string } {
  const shape = violations.find((v) => v.kind === 'shape');
  if (shape) {
    return { code: 'SerializationException', message: `Invalid value at '${shape.path}': ${shape.constraint}${shape.value !== undefined ? ` (got ${shape.value})` : ''}` };
  }
  const [first] = violations;
  if (violations.length === 1 && first) {
    return { code: 'InvalidParameterException', message: `Invalid parameter at '${first.path}' failed to satisfy constraint: '${first.constraint}'` };
  }
  const each = violations.map((v) => `Value ${v.value !== undefined ? `'${v.value}'` : 'null'} at '${v.path}' failed to satisfy constraint: ${v.constraint}`);
  return { code: 'InvalidParameterException', message: `${violations.length} validation errors detected: ${each.join('; ')}` };
}
