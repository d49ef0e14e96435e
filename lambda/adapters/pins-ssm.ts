// Pins kept in an SSM parameter, for deployments the janitor cannot see (other accounts' ECS, on-prem, EKS...).
// The parameter exists only to pin images, so anything in it we cannot read is an error, never silently skipped.
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { PinSource } from '../app/ports.js';
import { DIGEST, parseEcrImageUri, type RegistryAddress } from '../domain/image-uri.js';
import type { PinReference } from '../domain/types.js';
import { PinCollector } from './pin-collector.js';

export const SSM_PIN_FORMAT =
  'a JSON array like [{"repository":"app","digest":"sha256:..."},{"repository":"app","tag":"1.4"}], ' +
  'or ECR image URIs (<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag][@sha256:...]) separated by newlines or commas';

export function createSsmPinSource(client: SSMClient, parameterName: string, registry: RegistryAddress): PinSource {
  return {
    name: 'ssm',
    async discover() {
      let value: string | undefined;
      try {
        value = (await client.send(new GetParameterCommand({ Name: parameterName, WithDecryption: true }))).Parameter?.Value;
      } catch (error) {
        if ((error as Error).name === 'ParameterNotFound') {
          throw new Error(`SSM parameter ${parameterName} (pins.ssmParameter) does not exist; create it with ${SSM_PIN_FORMAT}`);
        }
        throw error;
      }
      if (value === undefined) throw new Error(`SSM parameter ${parameterName} returned no value`);
      return parseSsmPins(value, parameterName, registry);
    },
  };
}

/** Reads the parameter's value in either format; throws naming the parameter, the entry and the expected format. */
export function parseSsmPins(value: string, parameterName: string, registry: RegistryAddress): PinReference[] {
  const source = `ssm:${parameterName}`;
  const fail: (problem: string) => never = (problem) => {
    throw new Error(`SSM parameter ${parameterName}: ${problem}; expected ${SSM_PIN_FORMAT}`);
  };
  const text = value.trim();
  const pins = new PinCollector(registry);

  if (text.startsWith('[')) {
    let entries: unknown;
    try {
      entries = JSON.parse(text);
    } catch (error) {
      return fail(`not valid JSON (${(error as Error).message})`);
    }
    if (!Array.isArray(entries)) return fail('the JSON is not an array');
    entries.forEach((entry: unknown, index) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail(`entry [${index}] is not an object`);
      const { repository, digest, tag, ...rest } = entry as Record<string, unknown>;
      const unknownKeys = Object.keys(rest);
      if (unknownKeys.length > 0) fail(`entry [${index}] has unknown key(s) ${unknownKeys.join(', ')}`);
      if (typeof repository !== 'string' || repository === '') fail(`entry [${index}].repository must be a non-empty string`);
      if (digest !== undefined && (typeof digest !== 'string' || !DIGEST.test(digest))) fail(`entry [${index}].digest must look like sha256:<64 hex>`);
      if (tag !== undefined && (typeof tag !== 'string' || tag === '')) fail(`entry [${index}].tag must be a non-empty string`);
      if (digest === undefined && tag === undefined) fail(`entry [${index}] needs a digest or a tag`);
      pins.addReference({
        repository,
        ...(digest !== undefined ? { digest } : {}),
        ...(tag !== undefined ? { tag } : {}),
        source,
      });
    });
    return pins.references();
  }

  const uris = text.split(/[\n,]/).map((line) => line.trim()).filter((line) => line !== '');
  for (const uri of uris) {
    if (!parseEcrImageUri(uri)) fail(`"${uri}" is not an ECR image URI`);
    // Another account's or region's image is not ours to protect; the collector drops it.
    pins.add(uri, source);
  }
  return pins.references();
}
