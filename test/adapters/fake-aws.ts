// A fake transport for real SDK v3 clients: requests are serialized, responses parsed, paginators and retries run for
// real; only the network is replaced. Answers are canned per operation.
import { Readable } from 'node:stream';

export interface SentRequest {
  method: string;
  hostname: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  bodyText: string;
  /** awsJson protocols: the operation from X-Amz-Target ("DescribeImages"). */
  operation: string;
  /** awsJson protocols: the parsed JSON body. */
  json: Record<string, unknown>;
}

export interface CannedResponse {
  status?: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON, a string as is; a Readable is streamed (S3 GetObject bodies). */
  body?: unknown;
}

export type Responder = (request: SentRequest) => CannedResponse | Promise<CannedResponse>;

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };

interface RawRequest {
  method: string;
  hostname: string;
  path: string;
  query?: Record<string, unknown>;
  headers: Record<string, string>;
  body?: unknown;
}

/** `requestHandler` for any SDK client, plus the requests it saw. */
export function fakeTransport(respond: Responder) {
  const requests: SentRequest[] = [];
  const requestHandler = {
    async handle(raw: RawRequest) {
      const request = toSentRequest(raw);
      requests.push(request);
      const canned = await respond(request);
      return {
        response: {
          statusCode: canned.status ?? 200,
          headers: { 'content-type': 'application/x-amz-json-1.1', ...canned.headers },
          body: encodeBody(canned.body),
        },
      };
    },
  };
  return { requestHandler, requests, count: (operation: string) => requests.filter((r) => r.operation === operation).length };
}

/** awsJson services (ECR, ECS, SSM): one handler per operation; an operation without one is a test failure. */
export function byOperation(handlers: Record<string, Responder>): Responder {
  return (request) => {
    const handler = handlers[request.operation];
    if (!handler) throw new Error(`unexpected operation ${request.operation}`);
    return handler(request);
  };
}

export function ok(body: unknown): CannedResponse {
  return { status: 200, body };
}

/** An awsJson error as AWS sends it: the type in `__type`. */
export function jsonError(type: string, message: string, status = 400): CannedResponse {
  return { status, headers: { 'x-amzn-errortype': type }, body: { __type: type, message } };
}

function toSentRequest(raw: RawRequest): SentRequest {
  const bodyText = typeof raw.body === 'string' ? raw.body : raw.body instanceof Uint8Array ? new TextDecoder().decode(raw.body) : '';
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw.headers)) headers[key.toLowerCase()] = value;
  const query: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw.query ?? {})) if (typeof value === 'string') query[key] = value;
  const target = headers['x-amz-target'] ?? '';
  let json: Record<string, unknown> = {};
  if (target && bodyText) json = JSON.parse(bodyText) as Record<string, unknown>;
  return { method: raw.method, hostname: raw.hostname, path: raw.path, query, headers, bodyText, operation: target.split('.').pop() ?? '', json };
}

function encodeBody(body: unknown): Uint8Array | Readable {
  if (body instanceof Readable) return body;
  if (body === undefined) return new Uint8Array();
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
}

/** A sha256 digest built from a short label, readable in test failures. */
export function digestOf(label: string): string {
  const hex = Buffer.from(label).toString('hex');
  return `sha256:${hex.padEnd(64, '0').slice(0, 64)}`;
}
