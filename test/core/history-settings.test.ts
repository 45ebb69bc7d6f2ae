import { resolveConfig } from '../../lambda/core/config';
import { CableConfigError } from '../../lambda/core/errors';

// The functions' own check of the history settings they read from the environment
// (CABLE_HISTORY_LIMIT, CABLE_HISTORY_TTL): the construct checks its props at synth,
// but a variable edited by hand on the function reaches only this check.
describe('history settings', () => {
  test('history.limit: 0 keeps no history; a negative or fractional value is refused, naming the setting', () => {
    expect(resolveConfig({ history: { limit: 0 } }).history.limit).toBe(0);
    for (const bad of [-1, 1.5]) {
      expect(() => resolveConfig({ history: { limit: bad } }))
        .toThrow(new CableConfigError(`history.limit must be a non-negative integer, got ${bad}`));
    }
  });

  test('history.ttlSeconds: 1 is the least; 0 or a fractional value is refused, naming the setting', () => {
    expect(resolveConfig({ history: { ttlSeconds: 1 } }).history.ttlSeconds).toBe(1);
    for (const bad of [0, 1.5]) {
      expect(() => resolveConfig({ history: { ttlSeconds: bad } }))
        .toThrow(new CableConfigError(`history.ttlSeconds must be a positive integer, got ${bad}`));
    }
  });
});
