// The JSON Schema shipped as ecr-janitor/schema/janitor-config.schema.json is generated from the one zod schema by
// `npm run build` (dist/schema/; the packed-tarball test checks it ships),
// so editors complete janitor.json and the cdk.json context with the same keys, types, limits and defaults the
// janitor validates.
import { describe, expect, it } from 'vitest';
import { configJsonSchema, DEFAULT_CONFIG, parseConfig } from '../../lambda/domain/config.js';
import { configSchemaText } from '../../scripts/build.js';


type Schema = { type?: string; properties?: Record<string, Schema>; additionalProperties?: boolean; default?: unknown; minimum?: number; maximum?: number; enum?: unknown[]; items?: Schema };

describe('the config JSON Schema', () => {
  it('is written by the build as JSON Schema draft 2020-12', () => {
    const written = JSON.parse(configSchemaText()) as Record<string, unknown>;
    expect(written).toEqual(configJsonSchema());
    expect(written.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('names every config key, refuses unknown keys at every level, and carries the defaults and limits', () => {
    // Act
    const schema = configJsonSchema() as Schema;

    // Assess
    expect(Object.keys(schema.properties!)).toEqual(expect.arrayContaining(Object.keys(DEFAULT_CONFIG)));
    expect(() => parseConfig(Object.fromEntries(Object.keys(schema.properties!).map((key) => [key, undefined])), 'every key')).not.toThrow();
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties!.pins!.additionalProperties).toBe(false);
    expect(schema.properties!.ciTags!.items!.additionalProperties).toBe(false);
    expect(schema.properties!.untaggedExpireDays).toMatchObject({ type: 'integer', minimum: 1, maximum: 3650, default: 3 });
    expect(schema.properties!.existingPolicy).toMatchObject({ enum: ['replace', 'merge', 'skip'], default: 'merge' });
  });

  it('accepts every default the schema advertises', () => {
    // Prepare: a config made only of the schema's defaults.
    const schema = configJsonSchema() as Schema;
    const fromDefaults = Object.fromEntries(Object.entries(schema.properties!).filter(([, p]) => p.default !== undefined).map(([key, p]) => [key, p.default]));

    // Act / Assess
    expect(parseConfig(fromDefaults, 'schema defaults')).toEqual(parseConfig({}, 'none'));
  });

  it.each([
    ['cron(0 3 * * *)', /6 fields, this one has 5/],
    ['cron(0 3 * * 1 *)', /needs "\?" in day-of-month or day-of-week/],
  ])('refuses the cron expression %s at synth, naming the rule', (schedule, why) => {
    // Act
    let message = '';
    try {
      parseConfig({ schedule }, 'test.json');
    } catch (error) {
      message = (error as Error).message;
    }

    // Assess
    expect(message).toMatch(/schedule: /);
    expect(message).toMatch(why);
  });
});
