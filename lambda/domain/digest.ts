// The one sha256 helper of lambda/: a manifest's digest is the sha256 of its bytes (OCI image-spec "Descriptors",
// digests), so an index manifest kept in the run state is trusted only while its text still hashes to its digest.
import { createHash } from 'node:crypto';
import type { Digest } from './types.js';

/** Lowercase hex sha256 of the text's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `sha256:<64 lowercase hex>` of the text's UTF-8 bytes. */
export function sha256Digest(text: string): Digest {
  return `sha256:${sha256Hex(text)}`;
}
