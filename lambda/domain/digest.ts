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

/** `sha256:` and 64 lowercase hex digits: the only digest form ECR uses (OCI image-spec "Digests"). */
export const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** SHA256_DIGEST's test without a regex: the planner checks every entry of every index manifest with it. */
export function isSha256Digest(text: string): boolean {
  if (text.length !== 71 || !text.startsWith('sha256:')) return false;
  for (let i = 7; i < 71; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}
