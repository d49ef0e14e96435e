// The explicit pins in the config: always honoured, whatever else is enabled.
import type { PinSource } from '../app/ports.js';
import type { JanitorConfig, PinReference } from '../domain/types.js';

export function createConfigPinSource(config: JanitorConfig): PinSource {
  return {
    name: 'config',
    async discover() {
      const references: PinReference[] = [
        ...config.pins.digests.map(({ repository, digest }) => ({ repository, digest, source: 'config' })),
        ...config.pins.tags.map(({ repository, tag }) => ({ repository, tag, source: 'config' })),
      ];
      return references;
    },
  };
}
