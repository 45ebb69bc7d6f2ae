import { spawnSync } from 'node:child_process';

/** Whether the Ruby side of the conformance suite can run; installed in CI by .ci/install-ruby.sh. */
export interface RubyAvailability {
  readonly available: boolean;
  /** Why the Ruby-dependent tests are skipped, when they are. */
  readonly reason: string;
}

let cached: RubyAvailability | undefined;

export function rubyAvailability(): RubyAvailability {
  cached ??= probe();
  return cached;
}

function probe(): RubyAvailability {
  const ruby = spawnSync('ruby', ['-e', 'require "action_cable"; require "active_support/message_verifier"; print ActionCable.version'], { encoding: 'utf8' });
  if (ruby.error || ruby.status !== 0) {
    return { available: false, reason: 'ruby with action_cable is not installed (run .ci/install-ruby.sh)' };
  }
  const puma = spawnSync('puma', ['--version'], { encoding: 'utf8' });
  if (puma.error || puma.status !== 0) {
    return { available: false, reason: 'puma is not installed (run .ci/install-ruby.sh)' };
  }
  return { available: true, reason: `actioncable ${ruby.stdout.trim()}, ${puma.stdout.trim()}` };
}

/**
 * `describe` when Ruby is available; otherwise a skipped `describe` whose name carries the reason,
 * so the report shows why instead of a silent pass.
 */
export function describeWithRuby(name: string, body: () => void): void {
  const { available, reason } = rubyAvailability();
  if (available) {
    describe(name, body);
  } else {
    describe.skip(`${name} [skipped: ${reason}]`, body);
  }
}
