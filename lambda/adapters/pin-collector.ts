// Shared by the pin sources: keep references to this registry only, once per (reference, source).
import { parseEcrImageUri, pinFromImageUri, type RegistryAddress } from '../domain/image-uri.js';
import type { OrgReference } from '../domain/org-pins.js';
import type { PinReference } from '../domain/types.js';

export class PinCollector {
  private readonly byKey = new Map<string, PinReference>();

  /** `onForeign`: references to other ECR registries, for organization-wide pins (adapters/pins-org.ts). */
  constructor(
    private readonly registry: RegistryAddress,
    private readonly onForeign?: (reference: OrgReference) => void,
  ) {}

  /** `resolvedDigest` is what actually runs (ECS imageDigest, Lambda ResolvedImageUri); it wins over a digest in the URI. */
  add(imageUri: string, source: string, resolvedDigest?: string): void {
    const pin = pinFromImageUri(imageUri, this.registry, source);
    if (!pin) {
      const foreign = this.onForeign ? parseEcrImageUri(imageUri) : undefined;
      if (foreign) {
        const digest = resolvedDigest ?? foreign.digest;
        this.onForeign!({
          registry: { accountId: foreign.accountId, region: foreign.region },
          repository: foreign.repository,
          ...(digest !== undefined ? { digest } : {}),
          ...(foreign.tag !== undefined ? { tag: foreign.tag } : {}),
          source,
        });
      }
      return;
    }
    this.addReference(resolvedDigest ? { ...pin, digest: resolvedDigest } : pin);
  }

  addReference(reference: PinReference): void {
    this.byKey.set(JSON.stringify([reference.repository, reference.tag, reference.digest, reference.source]), reference);
  }

  references(): PinReference[] {
    return [...this.byKey.values()];
  }
}
