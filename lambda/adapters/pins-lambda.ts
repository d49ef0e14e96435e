// Lambda pins: container-image functions, every published version included (an alias may still point at an old one,
// and a version whose image is gone can no longer start).
import { GetFunctionCommand, paginateListFunctions, type LambdaClient } from '@aws-sdk/client-lambda';
import type { PinSource } from '../app/ports.js';
import { parseEcrImageUri, type RegistryAddress } from '../domain/image-uri.js';
import { PinCollector } from './pin-collector.js';

const LIST_PAGE_SIZE = 50; // ListFunctions returns at most 50 per page

export function createLambdaPinSource(client: LambdaClient, registry: RegistryAddress): PinSource {
  return {
    name: 'lambda',
    async discover() {
      const pins = new PinCollector(registry);
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
