// A local ECR over HTTP that the real @aws-sdk/client-ecr talks to (AWS JSON 1.1: POST / with X-Amz-Target), plus
// plain-JSON control routes under /_emulator/ for the clock, the lifecycle run, fault injection, call counts and the
// profile (how the open questions of ECR are read, emulator/profiles.ts). Every request is checked against ECR's API
// contract (emulator/contract.ts) before it reaches the model.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { contractError, EcrContract } from './contract.js';
import { ECR_OPERATIONS, Params } from './ecr-api.js';
import { runLifecycle, type LifecycleRunResult } from './lifecycle.js';
import { FAITHFUL, type Profile, type ProfileName, PROFILE_NAMES, profileNamed, withReadings } from './profiles.js';
import { RateLimiter } from './rate-limits.js';
import { EcrApiError, RegistryModel } from './registry-model.js';

export { makeEmulatorClient, type EmulatorClientOptions } from './emulator-client.js';

const TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';
const AWS_JSON = 'application/x-amz-json-1.1';
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface FaultConfig {
  /** Every Nth matching call answers 400 ThrottlingException (the SDK retries it). */
  throttleEveryN?: number;
  /** Every Nth matching call answers 500 ServerException (the SDK retries it). */
  serverErrorEveryN?: number;
  /** Delay before answering each matching call. */
  latencyMs?: number;
  /** Operation names the faults above apply to; all operations when absent. */
  operations?: string[];
  /** BatchDeleteImage reports these digests in failures[] (ImageInaccessible) instead of deleting them. */
  failDeletesOf?: string[];
  /** Lifecycle previews started from now on end EXPIRED or FAILED instead of COMPLETE. */
  previewOutcome?: 'EXPIRED' | 'FAILED';
}

export interface EmulatorStats {
  /** AWS calls received per operation, faulted ones included. */
  calls: Record<string, number>;
  total: number;
  throttled: number;
  serverErrors: number;
  /** Requests refused because they break ECR's API contract (a client bug: should stay 0). */
  contractViolations: number;
  /** Requests refused by the rate quotas (`rateLimits`). */
  rateLimited: number;
}

/** What the profile control route and handle report. */
export interface ProfileState {
  profile: ProfileName;
  readings: Profile;
  rateLimits: boolean;
}

export interface EmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Freezes the clock at this epoch-ms time; without it the clock follows the wall clock until set. */
  now?: number;
  accountId?: string;
  region?: string;
  /** How open questions are read (emulator/profiles.ts); faithful unless told. Test support, demo and simulation ask for pessimistic. */
  profile?: ProfileName | Profile;
  /** ECR's rate quotas as token buckets over real time (emulator/rate-limits.ts); off unless told. */
  rateLimits?: boolean;
  /** Check every request against ECR's API contract (on unless told). */
  contract?: boolean;
}

export interface EmulatorHandle {
  /** http://127.0.0.1:PORT: give it to the SDK as `endpoint` or AWS_ENDPOINT_URL_ECR. */
  readonly endpoint: string;
  readonly port: number;
  /** The registry itself, for tests that set up or inspect state without going through HTTP. */
  readonly model: RegistryModel;
  now(): number;
  setClock(ms: number): void;
  /** Moves the clock forward; returns the new time. */
  advanceDays(days: number): number;
  /** ECR's daily lifecycle run, now. */
  runLifecycle(): LifecycleRunResult;
  setFaults(faults: FaultConfig): void;
  clearFaults(): void;
  stats(): EmulatorStats;
  /** Drops every repository, fault and count; the clock and the profile stay. */
  reset(): void;
  /** Switches the profile (a name, or readings of one's own) from the next request on. */
  setProfile(profile: ProfileName | Profile): void;
  profile(): ProfileState;
  setRateLimits(enabled: boolean): void;
  /** The contract violations seen since the last reset, newest last (at most 50). */
  contractViolations(): string[];
  close(): Promise<void>;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

class ControlError extends Error {}

function positiveInteger(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new ControlError(`${name} must be a whole number >= 0`);
  return value === 0 ? undefined : value;
}

function stringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new ControlError(`${name} must be a list of strings`);
  return value as string[];
}

/** Checks a fault configuration from the control route (or a test) and drops the zeros. */
export function parseFaults(value: unknown): FaultConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ControlError('faults must be a JSON object');
  const raw = value as Record<string, unknown>;
  const known = ['throttleEveryN', 'serverErrorEveryN', 'latencyMs', 'operations', 'failDeletesOf', 'previewOutcome'];
  const unknown = Object.keys(raw).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new ControlError(`unknown fault setting(s): ${unknown.join(', ')}; known: ${known.join(', ')}`);
  const throttleEveryN = positiveInteger(raw.throttleEveryN, 'throttleEveryN');
  const serverErrorEveryN = positiveInteger(raw.serverErrorEveryN, 'serverErrorEveryN');
  const latencyMs = positiveInteger(raw.latencyMs, 'latencyMs');
  const operations = stringList(raw.operations, 'operations');
  const failDeletesOf = stringList(raw.failDeletesOf, 'failDeletesOf');
  const previewOutcome = raw.previewOutcome;
  if (previewOutcome !== undefined && previewOutcome !== 'EXPIRED' && previewOutcome !== 'FAILED') throw new ControlError('previewOutcome must be "EXPIRED" or "FAILED"');
  const unknownOperations = (operations ?? []).filter((op) => !(op in ECR_OPERATIONS));
  if (unknownOperations.length > 0) throw new ControlError(`operations: unknown operation(s) ${unknownOperations.join(', ')}`);
  return {
    ...(throttleEveryN !== undefined ? { throttleEveryN } : {}),
    ...(serverErrorEveryN !== undefined ? { serverErrorEveryN } : {}),
    ...(latencyMs !== undefined ? { latencyMs } : {}),
    ...(operations !== undefined ? { operations } : {}),
    ...(failDeletesOf !== undefined ? { failDeletesOf } : {}),
    ...(previewOutcome !== undefined ? { previewOutcome } : {}),
  };
}

const PROFILE_READINGS = ['deleteByDigestAndTag', 'previewPollsInProgress', 'previewRefusesConcurrentStart', 'policyText', 'pullTimeRefresh', 'lifecycle'];

/** `{"profile": "pessimistic", ...readings to change}` from the control route. */
export function parseProfile(value: unknown): Profile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ControlError('the body must be a JSON object');
  const { profile, ...changes } = value as Record<string, unknown>;
  if (typeof profile !== 'string' || !(PROFILE_NAMES as readonly string[]).includes(profile)) {
    throw new ControlError(`profile must be one of ${PROFILE_NAMES.join(', ')}`);
  }
  const unknown = Object.keys(changes).filter((key) => !PROFILE_READINGS.includes(key));
  if (unknown.length > 0) throw new ControlError(`unknown reading(s): ${unknown.join(', ')}; known: ${PROFILE_READINGS.join(', ')}`);
  const polls = changes.previewPollsInProgress;
  if (polls !== undefined && (typeof polls !== 'number' || !Number.isInteger(polls) || polls < 0)) throw new ControlError('previewPollsInProgress must be a whole number >= 0');
  return withReadings(profileNamed(profile), changes as Partial<Profile>);
}

function emptyStats(): EmulatorStats {
  return { calls: {}, total: 0, throttled: 0, serverErrors: 0, contractViolations: 0, rateLimited: 0 };
}

function parseClockTime(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new ControlError('now must be an ISO-8601 time or epoch milliseconds');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Everything behind the HTTP socket: the model, the faults and the counters. */
class EmulatorService {
  private faults: FaultConfig = {};
  private refuseDeletes: ReadonlySet<string> = new Set();
  private faultedCalls = 0;
  private counters: EmulatorStats = emptyStats();
  private violationLog: string[] = [];
  private readonly rateLimiter = new RateLimiter();
  private readonly contract: EcrContract | undefined;

  constructor(
    readonly model: RegistryModel,
    private rateLimited: boolean,
    checkContract: boolean,
  ) {
    this.contract = checkContract ? new EcrContract() : undefined;
  }

  setRateLimits(enabled: boolean): void {
    this.rateLimited = enabled;
    this.rateLimiter.reset();
  }

  profileState(): ProfileState {
    return { profile: this.model.profile.name, readings: this.model.profile, rateLimits: this.rateLimited };
  }

  contractViolations(): string[] {
    return [...this.violationLog];
  }

  setFaults(faults: FaultConfig): void {
    this.faults = parseFaults(faults);
    this.refuseDeletes = new Set(this.faults.failDeletesOf ?? []);
    this.faultedCalls = 0;
  }

  clearFaults(): void {
    this.setFaults({});
  }

  stats(): EmulatorStats {
    return { ...this.counters, calls: { ...this.counters.calls } };
  }

  reset(): void {
    this.model.reset();
    this.clearFaults();
    this.counters = emptyStats();
    this.violationLog = [];
    this.rateLimiter.reset();
  }

  async aws(target: string | undefined, rawBody: string): Promise<Reply> {
    const operation = target?.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
    const handler = operation !== undefined ? ECR_OPERATIONS[operation] : undefined;
    if (operation === undefined || handler === undefined) {
      return awsError(new EcrApiError('UnknownOperationException', `Unknown operation ${target ?? '(no X-Amz-Target header)'}`));
    }
    this.counters.calls[operation] = (this.counters.calls[operation] ?? 0) + 1;
    this.counters.total += 1;

    if (this.rateLimited && !this.rateLimiter.take(operation)) {
      this.counters.rateLimited += 1;
      return awsError(new EcrApiError('ThrottlingException', 'Rate exceeded'));
    }

    const faulted = !this.faults.operations || this.faults.operations.includes(operation);
    if (faulted) {
      if (this.faults.latencyMs) await sleep(this.faults.latencyMs);
      this.faultedCalls += 1;
      if (this.faults.throttleEveryN && this.faultedCalls % this.faults.throttleEveryN === 0) {
        this.counters.throttled += 1;
        return awsError(new EcrApiError('ThrottlingException', 'Rate exceeded'));
      }
      if (this.faults.serverErrorEveryN && this.faultedCalls % this.faults.serverErrorEveryN === 0) {
        this.counters.serverErrors += 1;
        return awsError(new EcrApiError('ServerException', 'Internal error (injected by the emulator)', 500));
      }
    }

    try {
      let body: unknown;
      try {
        body = rawBody.length === 0 ? {} : JSON.parse(rawBody);
      } catch {
        throw new EcrApiError('SerializationException', 'The request body is not valid JSON');
      }
      const violations = this.contract?.violations(operation, body) ?? [];
      if (violations.length > 0) {
        const { code, message } = contractError(violations);
        this.counters.contractViolations += 1;
        this.violationLog = [...this.violationLog, `${operation}: ${code}: ${message}`].slice(-50);
        throw new EcrApiError(code, message);
      }
      const context = { refuseDeletes: this.refuseDeletes, ...(this.faults.previewOutcome ? { previewOutcome: this.faults.previewOutcome } : {}) };
      return { status: 200, body: handler(this.model, Params.of(body), context) };
    } catch (error) {
      if (error instanceof EcrApiError) return awsError(error);
      return awsError(new EcrApiError('ServerException', `Emulator fault: ${(error as Error).message}`, 500));
    }
  }

  control(method: string, path: string, rawBody: string): Reply {
    try {
      const body = method === 'POST' && rawBody.length > 0 ? parseJson(rawBody) : {};
      const route = `${method} ${path.replace(/\/+$/, '')}`;
      switch (route) {
        case 'GET /_emulator/clock':
          return ok(this.clock());
        case 'POST /_emulator/clock': {
          if (body.advanceDays !== undefined) {
            if (typeof body.advanceDays !== 'number' || !Number.isFinite(body.advanceDays)) throw new ControlError('advanceDays must be a number');
            this.model.advanceDays(body.advanceDays);
          } else this.model.setClock(parseClockTime(body.now));
          return ok(this.clock());
        }
        case 'POST /_emulator/lifecycle/run':
          return ok(runLifecycle(this.model, this.model.profile.lifecycle));
        case 'GET /_emulator/profile':
          return ok(this.profileState());
        case 'POST /_emulator/profile':
          this.model.setProfile(parseProfile(body));
          return ok(this.profileState());
        case 'GET /_emulator/rate-limits':
          return ok({ rateLimits: this.rateLimited });
        case 'POST /_emulator/rate-limits':
          if (typeof body.enabled !== 'boolean') throw new ControlError('enabled must be true or false');
          this.setRateLimits(body.enabled);
          return ok({ rateLimits: this.rateLimited });
        case 'GET /_emulator/contract-violations':
          return ok({ count: this.counters.contractViolations, recent: this.contractViolations() });
        case 'GET /_emulator/faults':
          return ok(this.faults);
        case 'POST /_emulator/faults':
          this.setFaults(body);
          return ok(this.faults);
        case 'DELETE /_emulator/faults':
          this.clearFaults();
          return ok(this.faults);
        case 'GET /_emulator/stats':
          return ok(this.stats());
        case 'POST /_emulator/reset':
          this.reset();
          return ok({ reset: true, ...this.clock() });
        default:
          return { status: 404, body: { error: `no control route ${route}` } };
      }
    } catch (error) {
      if (error instanceof ControlError || error instanceof RangeError) return { status: 400, body: { error: error.message } };
      return { status: 500, body: { error: (error as Error).message } };
    }
  }

  private clock(): { now: number; iso: string } {
    const now = this.model.now();
    return { now, iso: new Date(now).toISOString() };
  }
}

function parseJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ControlError('the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ControlError('the body must be a JSON object');
  return value as Record<string, unknown>;
}

const ok = (body: unknown): Reply => ({ status: 200, body });

function awsError(error: EcrApiError): Reply {
  return {
    status: error.httpStatus,
    headers: { 'x-amzn-ErrorType': error.code },
    body: { __type: error.code, message: error.message },
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`request body over ${MAX_BODY_BYTES} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, reply: Reply, contentType: string): void {
  const text = JSON.stringify(reply.body);
  response.writeHead(reply.status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text, 'utf8'),
    'x-amzn-RequestId': randomUUID(),
    ...reply.headers,
  });
  response.end(text);
}

async function route(service: EmulatorService, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readBody(request);
  const path = new URL(request.url ?? '/', 'http://emulator').pathname;
  if (path.startsWith('/_emulator/')) {
    send(response, service.control(request.method ?? 'GET', path, body), 'application/json');
    return;
  }
  if (request.method !== 'POST' || path !== '/') {
    send(response, awsError(new EcrApiError('UnknownOperationException', `ECR speaks POST / with X-Amz-Target, not ${request.method} ${path}`)), AWS_JSON);
    return;
  }
  const target = request.headers['x-amz-target'];
  send(response, await service.aws(Array.isArray(target) ? target[0] : target, body), AWS_JSON);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function resolveProfile(profile: ProfileName | Profile | undefined): Profile {
  if (profile === undefined) return FAITHFUL;
  return typeof profile === 'string' ? profileNamed(profile) : profile;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const model = new RegistryModel({
    ...(options.accountId !== undefined ? { accountId: options.accountId } : {}),
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
    profile: resolveProfile(options.profile),
  });
  const service = new EmulatorService(model, options.rateLimits ?? false, options.contract ?? true);
  const server = createServer((request, response) => {
    route(service, request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, awsError(new EcrApiError('ServerException', (error as Error).message, 500)), AWS_JSON);
      else response.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  const reachableHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    endpoint: `http://${reachableHost.includes(':') ? `[${reachableHost}]` : reachableHost}:${port}`,
    port,
    model,
    now: () => model.now(),
    setClock: (ms) => model.setClock(ms),
    advanceDays: (days) => model.advanceDays(days),
    runLifecycle: () => runLifecycle(model, model.profile.lifecycle),
    setFaults: (faults) => service.setFaults(faults),
    clearFaults: () => service.clearFaults(),
    stats: () => service.stats(),
    reset: () => service.reset(),
    setProfile: (profile) => model.setProfile(resolveProfile(profile)),
    profile: () => service.profileState(),
    setRateLimits: (enabled) => service.setRateLimits(enabled),
    contractViolations: () => service.contractViolations(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets from SDK clients would hold close() open.
        server.closeAllConnections();
      }),
  };
}

/** `ecr-janitor emulator --port N [--profile faithful|pessimistic] [--rate-limits]`: serves until SIGINT or SIGTERM. */
export async function runEmulatorCli(port: number, options: { profile?: ProfileName; rateLimits?: boolean } = {}): Promise<void> {
  const emulator = await startEmulator({ port, profile: options.profile ?? 'pessimistic', rateLimits: options.rateLimits ?? false });
  const { accountId, region } = emulator.model;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`ECR emulator listening on ${emulator.endpoint} (account ${accountId}, region ${region})`);
  out(`use it with: AWS_ENDPOINT_URL_ECR=${emulator.endpoint} AWS_REGION=${region} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test`);
  out(`profile: ${emulator.model.profile.name}; rate limits: ${options.rateLimits ? 'on (ECR quotas, real time)' : 'off'}`);
  out(`control: ${emulator.endpoint}/_emulator/{clock,lifecycle/run,faults,stats,reset,profile,rate-limits,contract-violations}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await emulator.close();
}
