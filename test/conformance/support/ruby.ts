import { spawnSync } from 'node:child_process';

/** What installs the Ruby side (Debian's ruby, ruby-actioncable, ruby-activesupport, puma): .ci/install-ruby.sh. */
export const RUBY_SETUP_COMMAND = 'npx projen setup';

/** Whether the Ruby side of the conformance suite can run; `npx projen setup` installs it (CI: .ci/install-ruby.sh). */
export interface RubyAvailability {
  readonly available: boolean;
  /** What is installed or, when something is missing, what and how to install it. */
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
    return { available: false, reason: `ruby with action_cable is not installed: run "${RUBY_SETUP_COMMAND}" (Debian's ruby, ruby-actioncable, ruby-activesupport and puma, through .ci/install-ruby.sh)` };
  }
  const puma = spawnSync('puma', ['--version'], { encoding: 'utf8' });
  if (puma.error || puma.status !== 0) {
    return { available: false, reason: `puma is not installed: run "${RUBY_SETUP_COMMAND}" (Debian's puma, through .ci/install-ruby.sh)` };
  }
  return { available: true, reason: `actioncable ${ruby.stdout.trim()}, ${puma.stdout.trim()}` };
}

/**
 * `describe` when Ruby is available. Otherwise the block's tests do not run and one failing test
 * takes their place, naming what is missing and the command that installs it: a missing tool
 * fails the run, it never passes as skipped.
 */
export function describeWithRuby(name: string, body: () => void): void {
  const { available, reason } = rubyAvailability();
  if (available) {
    describe(name, body);
  } else {
    describe(name, () => {
      test('ruby: the Rails side is installed', () => {
        throw new Error(reason);
      });
    });
  }
}
