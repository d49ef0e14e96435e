// Lambda pins: container-image functions, every published version included (an alias may still point at an old one,
// and a version whose image is gone can no longer start).
//
// ListFunctions and GetFunction answer with each function's whole configuration, environment variables (often
// secrets) included; no parameter narrows that. So the client drops every field pin discovery does not use the moment
// a response is parsed, before the SDK's own logging or any code of ours sees it, and nothing of it is ever logged.
import { GetFunctionCommand, paginateListFunctions, type LambdaClient } from '@aws-sdk/client-lambda';
import type { PinSource } from '../app/ports.js';
import { parseEcrImageUri, type RegistryAddress } from '../domain/image-uri.js';
import type { OrgReference } from '../domain/org-pins.js';
import { PinCollector } from './pin-collector.js';

const LIST_PAGE_SIZE = 50; // ListFunctions returns at most 50 per page

/** What pin discovery reads of ListFunctions: which functions are images, by name and version. */
export const LIST_FUNCTIONS_FIELDS_KEPT = ['FunctionName', 'Version', 'PackageType'] as const;
/** What it reads of GetFunction: the image the function was deployed with and the digest it runs. */
export const GET_FUNCTION_CODE_FIELDS_KEPT = ['ImageUri', 'ResolvedImageUri'] as const;

const MIDDLEWARE_NAME = 'ecrJanitorKeepOnlyImageFields';

export function createLambdaPinSource(client: LambdaClient, registry: RegistryAddress, options: { onForeignReference?: (reference: OrgReference) => void } = {}): PinSource {
  keepOnlyImageFields(client);
  return {
    name: 'lambda',
    async discover() {
      const pins = new PinCollector(registry, options.onForeignReference);
      const pages = paginateListFunctions({ client, pageSize: LIST_PAGE_SIZE }, { FunctionVersion: 'ALL' });
      for await (const page of pages) {
        for (const fn of page.Functions ?? []) {
          // ListFunctions has no server-side PackageType filter; zip functions have no image to pin.
          if (fn.PackageType !== 'Image' || !fn.FunctionName) continue;
          const version = fn.Version ?? '$LATEST';
          let code;
          try {
            code = (await client.send(new GetFunctionCommand({ FunctionName: fn.FunctionName, Qualifier: version }))).Code;
          } catch (error) {
            // Deleted between the list and the get: it runs nothing.
            if ((error as Error).name === 'ResourceNotFoundException') continue;
            throw error;
          }
          const source = `lambda:${fn.FunctionName}${version === '$LATEST' ? '' : `:${version}`}`;
          const imageUri = code?.ImageUri ?? code?.ResolvedImageUri;
          if (!imageUri) throw new Error(`GetFunction ${fn.FunctionName}:${version} is an image function but returned no ImageUri`);
          // ImageUri carries the tag the function was deployed with, ResolvedImageUri the digest it runs.
          const resolved = code?.ResolvedImageUri ? parseEcrImageUri(code.ResolvedImageUri) : undefined;
          pins.add(imageUri, source, resolved?.digest);
        }
      }
      return pins.references();
    },
  };
}

/**
 * Strips ListFunctions and GetFunction outputs down to the fields above as they are deserialized (the deserialize
 * step, ahead of the SDK's deserializer, so ours sees the parsed output first). Once per client.
 */
function keepOnlyImageFields(client: LambdaClient): void {
  if (client.middlewareStack.identify().some((entry) => entry.startsWith(MIDDLEWARE_NAME))) return;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const output = result.output as unknown as Record<string, unknown>;
      if (context.commandName === 'ListFunctionsCommand') {
        const functions = Array.isArray(output.Functions) ? (output.Functions as Record<string, unknown>[]) : [];
        output.Functions = functions.map((fn) => pick(fn, LIST_FUNCTIONS_FIELDS_KEPT));
      } else if (context.commandName === 'GetFunctionCommand') {
        const code = output.Code as Record<string, unknown> | undefined;
        for (const key of Object.keys(output)) if (key !== '$metadata') delete output[key];
        if (code) output.Code = pick(code, GET_FUNCTION_CODE_FIELDS_KEPT);
      }
      return result;
    },
    { step: 'deserialize', priority: 'high', name: MIDDLEWARE_NAME },
  );
}

function pick(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const key of keys) if (record[key] !== undefined) kept[key] = record[key];
  return kept;
}
