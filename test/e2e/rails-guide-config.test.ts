import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { codeBlock, codeBlocks } from './support/rails-guide-pages';

/**
 * The Rails guide's Ruby and YAML, run with Debian's Ruby and ActiveSupport (no railties here,
 * so not in a Rails app): every block parses, every ERB renders at a boot without the cable's
 * variables (assets:precompile, tests, CI), and the verifier-key settings give the key they
 * promise. test/e2e/support/ruby-config-check.rb does the Ruby side.
 */

const RUBY = '/usr/bin/ruby';
const CHECK = join(__dirname, 'support', 'ruby-config-check.rb');
const GUIDES = ['docs/rails.md', 'README.md'];

interface Outcome { readonly ok: boolean; readonly value?: unknown; readonly error?: string }

function ruby(kind: 'syntax' | 'yaml' | 'config', code: string, env: Record<string, string> = {}): Outcome {
  const result = spawnSync(RUBY, [CHECK], { input: JSON.stringify({ kind, code, env }), encoding: 'utf8' });
  if (result.error) throw new Error(`${RUBY} did not run (${result.error.message}): run "npx projen setup", which installs Debian's Ruby (.ci/install-ruby.sh)`);
  if (result.status !== 0) throw new Error(`ruby-config-check.rb failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Outcome;
}

const blocks = (language: string) => GUIDES.flatMap((file) => codeBlocks(file)
  .filter((block) => block.language === language)
  .map(({ code }) => ({ name: `${file}: ${code.split('\n')[0]}`, code })));

describe('rails guide: configuration', () => {
  test('ruby blocks: every one parses', () => {
    const outcomes = blocks('ruby').map(({ name, code }) => ({ name, ...ruby('syntax', code) }));
    expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([]);
    expect(outcomes.length).toBeGreaterThanOrEqual(10);
  });

  test('yaml blocks: every ERB renders and parses with none of the cable\'s variables set', () => {
    const outcomes = blocks('yaml').map(({ name, code }) => ({ name, ...ruby('yaml', code) }));
    expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([]);
    expect(outcomes.length).toBeGreaterThanOrEqual(4);
  });

  test('ruby and yaml blocks of docs/rails.md: each names what it was checked against', () => {
    const unversioned = codeBlocks('docs/rails.md')
      .filter((block) => block.language === 'ruby' || block.language === 'yaml')
      .map(({ code }) => code.split('\n')[0])
      .filter((firstLine) => !/checked against .*\d+\.\d+/.test(firstLine));
    expect(unversioned).toEqual([]);
  });

  test('verifier key, production: CABLE_SECRET is the key; a build without it boots, a server stops', () => {
    const production = codeBlock('docs/rails.md', '# config/environments/production.rb (checked against turbo-rails 2.0.21)');
    expect(ruby('config', production, { CABLE_SECRET: 'the-cable-secret' })).toEqual({ ok: true, value: { 'turbo.signed_stream_verifier_key': 'the-cable-secret' } });
    expect(ruby('config', production, { SECRET_KEY_BASE_DUMMY: '1' })).toEqual({ ok: true, value: { 'turbo.signed_stream_verifier_key': null } });
    expect(ruby('config', production, { CABLE_SECRET: '' })).toEqual({ ok: false, error: expect.stringMatching(/CABLE_SECRET is not set/) });
  });

  test('verifier key, development: without CABLE_SECRET, the key Procfile.dev gives cdk-cable dev', () => {
    const development = codeBlock('docs/rails.md', '# config/environments/development.rb (checked against turbo-rails 2.0.21): the key cdk-cable dev is given (--secret)');
    const procfile = codeBlock('docs/rails.md', '# Procfile.dev');
    const { value } = ruby('config', development) as { value: Record<string, string> };
    expect(procfile).toContain(`--secret=\${CABLE_SECRET:-${value['turbo.signed_stream_verifier_key']}}`);
    expect(ruby('config', development, { CABLE_SECRET: 'exported' }).value).toEqual({ 'turbo.signed_stream_verifier_key': 'exported' });
  });

  test('verifier key: the README sets the production key with the guide\'s expression', () => {
    const setting = (code: string) => code.slice(code.indexOf('config.turbo.signed_stream_verifier_key'));
    const guide = codeBlock('docs/rails.md', '# config/environments/production.rb (checked against turbo-rails 2.0.21)');
    const readme = codeBlock('README.md', '# config/environments/production.rb (turbo-rails 2.0.21, Rails 7.1-8.0)');
    expect(setting(readme)).toBe(setting(guide));
  });
});
