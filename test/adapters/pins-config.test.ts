import { expect, test } from 'vitest';
import { createConfigPinSource } from '../../lambda/adapters/pins-config.js';
import { DEFAULT_CONFIG } from '../../lambda/domain/config.js';
import { digestOf } from './fake-aws.js';

test('the config pin source returns the explicit digests and tags', async () => {
  // Prepare
  const digest = digestOf('app');
  const config = { ...DEFAULT_CONFIG, pins: { ...DEFAULT_CONFIG.pins, digests: [{ repository: 'app', digest }], tags: [{ repository: 'team/web', tag: 'stable' }] } };

  // Act
  const references = await createConfigPinSource(config).discover();

  // Assess
  expect(references).toEqual([
    { repository: 'app', digest, source: 'config' },
    { repository: 'team/web', tag: 'stable', source: 'config' },
  ]);
});
