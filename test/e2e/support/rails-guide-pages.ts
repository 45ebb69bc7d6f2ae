import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = join(__dirname, '..', '..', '..');
const NODE_MODULES = join(ROOT, 'node_modules');
/** turbo-rails' npm entry point (package.json `module`), which its rollup build and jspm start from. */
const TURBO_RAILS = join(NODE_MODULES, '@hotwired', 'turbo-rails', 'app', 'javascript', 'turbo', 'index.js');

/**
 * The fenced code block of a markdown file whose first line is `firstLine` (a block names its
 * file in a comment, `// app/javascript/application.js`), without that line's fence: the test
 * runs what the guide says. Exactly one block must match.
 */
export function codeBlock(markdownFile: string, firstLine: string): string {
  const found = codeBlocks(markdownFile).filter(({ code }) => code.split('\n')[0] === firstLine).map(({ code }) => code);
  if (found.length !== 1) throw new Error(`${markdownFile} has ${found.length} code blocks starting with "${firstLine}", expected one`);
  return found[0];
}

/** Every fenced code block of a markdown file, with its language. */
export function codeBlocks(markdownFile: string): { language: string; code: string }[] {
  const markdown = readFileSync(join(ROOT, markdownFile), 'utf8');
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((match) => ({ language: match[1], code: match[2] }));
}

/** importmap-rails' `pin "name"` and `pin "name", to: "file.js"`, as an import map's entries under `base`. */
export function importMapPins(importmapRb: string, base: string): Record<string, string> {
  const pins: Record<string, string> = {};
  for (const [, name, to] of importmapRb.matchAll(/^pin "([^"]+)"(?:, to: "([^"]+)")?/gm)) pins[name] = `${base}/${to ?? `${name}.js`}`;
  return pins;
}

/** How a Rails app loads its JavaScript: one entry point, or an import map with its files. */
export interface PageSetup {
  /** The tags of `<head>` after `action_cable_meta_tag`, as the layout's helper renders them. */
  readonly head: string;
  /** Files by URL path. */
  readonly files: Record<string, string>;
}

/** The guide's files that a setup serves. */
export interface GuideFiles {
  readonly cableKeepalive: string;
  readonly applicationJs: string;
  readonly importmapRb?: string;
}

function bundle(options: Parameters<typeof buildSync>[0]): string {
  const result = buildSync({ bundle: true, format: 'esm', write: false, logLevel: 'error', nodePaths: [NODE_MODULES], ...options });
  return result.outputFiles![0].text;
}

/**
 * jsbundling-rails with esbuild: `app/javascript/application.js` bundled as its default build
 * script does (`esbuild app/javascript/*.* --bundle --sourcemap --format=esm`), served by
 * `javascript_include_tag "application", type: "module"`.
 */
export function esbuildSetup(files: GuideFiles): PageSetup {
  const dir = join(mkdtempSync(join(tmpdir(), 'cdk-cable-rails-guide-')), 'app', 'javascript');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'application.js'), files.applicationJs);
  writeFileSync(join(dir, 'cable_keepalive.js'), files.cableKeepalive);
  return {
    head: '<script type="module" src="/assets/application.js"></script>',
    files: { '/assets/application.js': bundle({ entryPoints: [join(dir, 'application.js')] }) },
  };
}

/**
 * importmap-rails as `rails new` sets it up: `pin "@hotwired/turbo-rails", to: "turbo.min.js"`
 * (turbo-rails' lib/install/turbo_with_importmap.rb), a file turbo-rails builds with rollup with
 * `@hotwired/turbo` and `@rails/actioncable/src` inlined (`inlineDynamicImports`). The npm
 * package ships the same rollup build unminified (app/assets/javascripts/turbo.js, its `main`):
 * that file is served as turbo.min.js.
 */
export function importmapTurboMinSetup(files: GuideFiles): PageSetup {
  const rollupBuild = join(NODE_MODULES, '@hotwired', 'turbo-rails', 'app', 'assets', 'javascripts', 'turbo.js');
  return importmapSetup(files, { '@hotwired/turbo-rails': 'turbo.min.js' }, { 'turbo.min.js': readFileSync(rollupBuild, 'utf8') });
}

/**
 * importmap-rails after `bin/importmap pin @hotwired/turbo-rails`, which pins three files from
 * jspm: `@hotwired/turbo-rails` (its app/javascript/turbo/index.js), `@hotwired/turbo` and
 * `@rails/actioncable/src` (hotwired/turbo-rails#397 shows the three pins). Each is its own
 * module here too, the imports between them left to the import map.
 */
export function importmapPinnedSetup(files: GuideFiles): PageSetup {
  const turbo = join(NODE_MODULES, '@hotwired', 'turbo', 'dist', 'turbo.es2017-esm.js');
  return importmapSetup(files, {
    '@hotwired/turbo-rails': 'hotwired--turbo-rails.js',
    '@hotwired/turbo': 'hotwired--turbo.js',
    '@rails/actioncable/src': 'rails--actioncable--src.js',
  }, {
    'hotwired--turbo-rails.js': bundle({ entryPoints: [TURBO_RAILS], external: ['@hotwired/turbo', '@rails/actioncable/src'] }),
    'hotwired--turbo.js': readFileSync(turbo, 'utf8'),
    'rails--actioncable--src.js': bundle({ entryPoints: [join(NODE_MODULES, '@rails', 'actioncable', 'src', 'index.js')] }),
  });
}

/** `javascript_importmap_tags`: the import map (Rails' `pin "application"`, Turbo's pins and the guide's), then `import "application"`. */
function importmapSetup(files: GuideFiles, turboPins: Record<string, string>, turboFiles: Record<string, string>): PageSetup {
  if (!files.importmapRb) throw new Error('an importmap setup needs the guide\'s config/importmap.rb');
  const base = '/assets';
  const imports: Record<string, string> = {
    application: `${base}/application.js`,
    ...Object.fromEntries(Object.entries(turboPins).map(([name, file]) => [name, `${base}/${file}`])),
    ...importMapPins(files.importmapRb, base),
  };
  const served: Record<string, string> = {
    [`${base}/application.js`]: files.applicationJs,
    [`${base}/cable_keepalive.js`]: files.cableKeepalive,
  };
  for (const [file, text] of Object.entries(turboFiles)) served[`${base}/${file}`] = text;
  // The actioncable gem's asset, for `pin "@rails/actioncable", to: "actioncable.esm.js"` (the npm package's same file).
  served[`${base}/actioncable.esm.js`] = readFileSync(join(NODE_MODULES, '@rails', 'actioncable', 'app', 'assets', 'javascripts', 'actioncable.esm.js'), 'utf8');
  return {
    head: `<script type="importmap">${JSON.stringify({ imports })}</script>\n<script type="module">import "application"</script>`,
    files: served,
  };
}

/** The app's page: the layout's meta tag, the setup's scripts, and what `turbo_stream_from` renders. */
export function layout(cableUrl: string, setup: PageSetup, signedStreamName: string): string {
  return `<!DOCTYPE html>
<html><head>
<meta name="action-cable-url" content="${cableUrl}">
${setup.head}
</head><body>
<turbo-cable-stream-source channel="Turbo::StreamsChannel" signed-stream-name="${signedStreamName}"></turbo-cable-stream-source>
<div id="messages"></div>
</body></html>`;
}

/** Plays the Rails app's web server: each page at `/<name>/` and its files under `/<name>/…`. */
export async function serveApp(pages: Record<string, { html: string; setup: PageSetup }>): Promise<{ url: string; close: () => Promise<void> }> {
  const routes = new Map<string, { type: string; body: string }>();
  for (const [name, { html, setup }] of Object.entries(pages)) {
    routes.set(`/${name}/`, { type: 'text/html', body: html.replaceAll('"/assets/', `"/${name}/assets/`) });
    for (const [path, body] of Object.entries(setup.files)) routes.set(`/${name}${path}`, { type: extname(path) === '.js' ? 'text/javascript' : 'text/plain', body });
  }
  const server: Server = createServer((request, response) => {
    const route = routes.get(request.url ?? '');
    response.writeHead(route ? 200 : 404, { 'Content-Type': route?.type ?? 'text/plain' }).end(route?.body ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
