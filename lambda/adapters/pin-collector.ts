// Shared by the pin sources: keep references to this registry only, once per (reference, source).
import { pinFromImageUri, type RegistryAddress } from '../domain/image-uri.js';
import type { PinReference } from '../domain/types.js';

export class PinCollector {
  private readonly byKey = new Map<string, PinReference>();

  constructor(private readonly registry: RegistryAddress) {}

  /** `resolvedDigest` is what actually runs (ECS imageDigest, Lambda ResolvedImageUri); it wins over a digest in the URI. */
  add(imageUri: string, source: string, resolvedDigest?: string): void {
    const pin = pinFromImageUri(imageUri, this.registry, source);
    if (!pin) return;
    this.addReference(resolvedDigest ? { ...pin, digest: resolvedDigest } : pin);
  }

  addReference(reference: PinReference): void {
    this.byKey.set(JSON.stringify([reference.repository, reference.tag, reference.digest, reference.source]), reference);
  }

  references(): PinReference[] {
    return [...this.byKey.values()];
  }
}
