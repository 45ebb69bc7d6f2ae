import * as path from 'node:path';
import { awscdk, DependencyType, github, javascript, JsonFile, release } from 'projen';
import { CABLE_FUNCTIONS, FUNCTION_BUNDLE_FILE, FUNCTION_CHUNKS_DIR, FUNCTIONS_DIR, functionBundleName } from './src/contract/functions';

// Lambda's Node.js runtimes are ESM-capable; CommonJS dependencies bundled into an ESM file
// still call require() for Node built-ins, so give them one.
const ESM_REQUIRE_BANNER = "import{createRequire as __cableRequire}from'node:module';const require=__cableRequire(import.meta.url);";

/** The Debian packages the tests need beyond node_modules, in the GitHub workflows (see `setup` below). */
const SETUP_STEP: github.workflows.JobStep = { name: 'Install Ruby, puma and Chromium (Debian packages)', run: 'npx projen setup' };

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-cable',
  description: 'A serverless ActionCable server for Rails and Hotwire on API Gateway WebSockets, Lambda and DynamoDB: connect an unmodified @rails/actioncable or Turbo client.',
  author: 'cdk-cable',
  authorAddress: 'cdk-cable@users.noreply.github.com',
  repositoryUrl: 'https://github.com/cdk-cable/cdk-cable.git',
  homepage: 'https://github.com/cdk-cable/cdk-cable#readme',
  license: 'Apache-2.0',
  keywords: ['awscdk', 'cdk', 'actioncable', 'websocket', 'rails', 'hotwire', 'turbo', 'anycable', 'apigateway', 'lambda'],
  stability: 'experimental',

  // WebSocketStage honors accessLogSettings only from 2.222.0.
  cdkVersion: '2.222.0',
  // cdk-nag (tests only) needs constructs 10.5.1; users need only what aws-cdk-lib needs (see below).
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,

  // Construct Hub: npm and PyPI.
  publishToPypi: {
    distName: 'cdk-cable',
    module: 'cdk_cable',
  },

  // The runtime in lambda/ is bundled by esbuild (tasks below), not by projen's Lambda auto-discovery.
  lambdaAutoDiscover: false,
  bundlerOptions: { assetsDir: 'assets' },

  // Construct Hub: GitHub build and release workflows as projen generates them for a jsii
  // library; a push to main releases the version conventional commits call for, to npm and PyPI.
  // They need GitHub Actions and the registries' tokens, so they do not run here: .ci/run is this
  // repository's CI and packages the JavaScript target only (jsii-pacmak's Python target needs PyPI).
  github: true,
  release: true,
  releaseTrigger: release.ReleaseTrigger.continuous(),
  // The tests need Debian's Ruby, puma and Chromium (`npx projen setup`) on the workflows' image too.
  buildWorkflowOptions: { preBuildSteps: [SETUP_STEP] },
  releaseWorkflowSetupSteps: [SETUP_STEP],
  depsUpgrade: false,

  eslintOptions: {
    dirs: ['src', 'lambda'],
    devdirs: ['test', 'bench', 'examples'],
    // `projen test` (and CI) only lint; `npx projen lint:fix` rewrites files.
    commandOptions: { fix: false },
  },
  tsconfigDev: {
    include: ['../lambda/**/*.ts', '../bench/**/*.ts', '../examples/**/*.ts'],
    compilerOptions: {},
  },
  jestOptions: {
    // A changed snapshot must fail, never be rewritten silently.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testTimeout: 60_000,
      // One worker per core, not jest's default of one fewer: most suites wait on sockets, timers
      // and child processes, not the CPU. On the 2-core CI machine the jest step took 738 s with
      // the default (one worker) and 374 s with two (2026-12-06, same tests, all passing).
      maxWorkers: '100%',
      // Quiets the AWS SDK's Node version warning, in jest and in the bundles tests spawn.
      globalSetup: '<rootDir>/test/jest.global-setup.ts',
      // Removes the run's temporary directory, where every synthesized App lands.
      globalTeardown: '<rootDir>/test/jest.global-teardown.ts',
    },
  },

  devDeps: [
    '@aws-sdk/client-apigatewaymanagementapi',
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/client-lambda',
    '@aws-sdk/client-secrets-manager',
    '@anycable/core',
    // The Turbo client of the reliable-streams browser test: turbo-stream 0.8.1 (the newest) takes
    // a cable from @anycable/core ^1.1.0; @anycable/web 1.1.x creates it (core ^1.1.5).
    '@anycable/turbo-stream@0.8.1',
    '@anycable/web@^1.1.1',
    // The RPC peer of the RPC end-to-end tests (0.1.0: the only version on npm).
    '@anycable/serverless-js@0.1.0',
    // Signs JWTs in the identification tests (also what @anycable/serverless-js uses).
    'jose@^4.15.9',
    '@rails/actioncable',
    '@aws-sdk/credential-provider-node',
    '@smithy/node-http-handler',
    '@smithy/signature-v4',
    '@types/rails__actioncable',
    '@aws-sdk/lib-dynamodb',
    '@hotwired/turbo-rails',
    'puppeteer-core',
    '@types/aws-lambda',
    '@types/ws',
    'aws-cdk@^2',
    'cdk-nag@^2.38.2',
    'dynalite',
    'ws',
    // Evaluates the functions' recorded AWS calls against their synthesized roles (test/iam/, `iam:check`).
    '@cloud-copilot/iam-simulate@0.1.173',
    // The deployable integration test (test/integ/): integ-tests-alpha's assertions and the runner.
    // 2.214.0-alpha.0 is the newest alpha at or below aws-cdk-lib 2.222.0 on the registry (no
    // 2.222.0-alpha.0 there); its peer range is aws-cdk-lib ^2.214.0.
    '@aws-cdk/integ-tests-alpha@2.214.0-alpha.0',
    '@aws-cdk/integ-runner@2.197.10',
    // Mutation testing of the protocol core (`test:mutation`, test/mutation/). 9.6.1: the newest
    // release line that runs on Node 20 (10.x needs Node 22).
    '@stryker-mutator/core@9.6.1',
    '@stryker-mutator/jest-runner@9.6.1',
    '@stryker-mutator/typescript-checker@9.6.1',
  ],
});

// unrs-resolver 1.13.0 (jest, eslint's import resolver) lists platform bindings that the npm
// registry reachable here does not serve, and `npm ci` rejects a lock file without them;
// 1.12.2's bindings are all there.
project.package.addField('overrides', { 'unrs-resolver': '1.12.2' });

project.deps.removeDependency('constructs', DependencyType.PEER);
project.deps.addDependency('constructs@^10.0.0', DependencyType.PEER);
project.deps.removeDependency('constructs', DependencyType.DEVENV);
project.deps.addDependency('constructs@10.5.1', DependencyType.DEVENV);

// The functions shipped as bundled assets: lambda/aws/<name>-function.ts -> assets/lambda/aws/<name>-function/,
// index.mjs and chunks/ (Code.fromAsset takes the folder). Code splitting (bench/results/bundles.json,
// docs/benchmarks.md): what a function imports with `import()` (the RPC client, the SDK's credential
// providers Lambda never uses) is a chunk loaded only when used, so the cold import reads about a
// quarter of the code it used to. Minified with names kept (function names in stack traces). The
// source maps beside the code carry no sources (about 40% of their size with them): a stack trace
// needs only the mappings. The construct leaves them out of the function's code and Node's
// --enable-source-maps off unless `sourceMaps` is set.
for (const name of CABLE_FUNCTIONS) {
  const source = `${FUNCTIONS_DIR}/${functionBundleName(name)}`;
  const outdir = `${project.bundler.bundledir}/${source}`;
  const task = project.addTask(`bundle:${source}`, {
    description: `Bundle ${source}.ts into ${outdir}/ (${FUNCTION_BUNDLE_FILE} and its chunks)`,
    steps: [
      // esbuild writes over its files but leaves chunks of earlier builds, which the asset would carry.
      { exec: `rm -rf ${outdir}` },
      {
        execArgs: [
          'esbuild', '--bundle', `${path.parse(FUNCTION_BUNDLE_FILE).name}=${source}.ts`,
          '--platform=node', '--target=node22', '--format=esm', '--splitting',
          `--outdir=${outdir}`, '--out-extension:.js=.mjs', `--chunk-names=${FUNCTION_CHUNKS_DIR}/[name]-[hash]`,
          '--minify', '--keep-names', '--sourcemap', '--sources-content=false',
          `--banner:js=${ESM_REQUIRE_BANNER}`,
          // The AWS SDK's ES module builds tree-shake; its CommonJS builds do not (~40% smaller).
          '--main-fields=module,main',
          '--log-level=warning',
        ],
      },
    ],
  });
  project.bundler.bundleTask.spawn(task);
}

// The local cable server CLI (`npx cdk-cable dev`), bundled with its dependencies so the
// package has no runtime dependencies at all.
const cli = project.bundler.addBundle('lambda/local/cli.ts', {
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outfile: 'cdk-cable.mjs',
  sourcemap: true,
  // Mappings only, as for the functions: the map was 2.9 MB with the sources, the package's largest
  // file (projen's `sourcesContent: false` writes no flag, so the flag itself).
  esbuildArgs: { '--sources-content': 'false' },
  banner: `#!/usr/bin/env node\n${ESM_REQUIRE_BANNER}`,
  executable: true,
  watchTask: false,
});
project.addBins({ 'cdk-cable': cli.outfile });

// The local server's demo page script: Turbo and @rails/actioncable bundled at build time (no CDN).
project.bundler.addBundle('lambda/local/demo/demo-page.ts', {
  platform: 'browser',
  target: 'es2020',
  format: 'esm',
  outfile: 'demo-page.js',
  minify: true,
  sourcemap: true,
  watchTask: false,
});

// `cdk-cable/runtime/broadcast`: the in-stack broadcast helper for users' own Lambda functions,
// CommonJS with its .d.ts, leaving the AWS SDK to the Lambda runtime.
const runtimeHelper = project.addTask('bundle:runtime', {
  description: 'Build runtime/broadcast.js and .d.ts (the in-stack broadcast helper)',
  steps: [
    { exec: 'esbuild --bundle lambda/client/broadcast.ts --platform=node --target=node20 --format=cjs --external:@aws-sdk/* --log-level=warning --outfile=runtime/broadcast.js' },
    { exec: 'tsc --ignoreConfig lambda/client/broadcast.ts --declaration --emitDeclarationOnly --skipLibCheck --strict --target es2022 --module node16 --moduleResolution node16 --types node --outDir runtime' },
  ],
});
project.bundler.bundleTask.spawn(runtimeHelper);
project.gitignore.exclude('/runtime/');
project.addPackageIgnore('!/runtime/');

// Construct tests synthesize Code.fromAsset(assets/...), e2e tests run the bundles, and the
// package test packs lib/: `projen test` builds all three first, from a clean clone too.
project.testTask.prependSpawn(project.compileTask);
project.testTask.prependSpawn(project.bundler.bundleTask);
// ts-jest transpiles each file alone (isolatedModules), so a type error in a test or in lambda/
// would pass unseen: check the whole non-jsii tree first.
const typecheck = project.addTask('typecheck', {
  description: 'Type-check test/, lambda/, bench/ and examples/ (jest runs them unchecked)',
  exec: 'tsc --noEmit -p test/tsconfig.json',
});
project.testTask.prependSpawn(typecheck);

// Beyond node_modules the tests need Debian's Ruby with ActionCable and puma (test/conformance)
// and Chromium (test/e2e/browser-demo.test.ts). `npx projen setup` installs what is missing
// (idempotent; as root or with sudo), and `projen test` first checks they are there, failing
// before anything else runs with what is missing and the command that installs it.
project.addTask('setup', {
  description: 'Install the Debian packages the tests need: Ruby, ActionCable and puma, and Chromium (as root or with sudo)',
  steps: [
    { exec: 'bash .ci/install-ruby.sh' },
    { exec: 'bash .ci/install-chromium.sh' },
  ],
});
const preflight = project.addTask('test:preflight', {
  description: 'Fail fast, naming the install command, when a tool the tests need is missing',
  exec: 'bash .ci/check-tools.sh',
});
project.testTask.prependSpawn(preflight);

// `projen test` lints without changing files (eslintOptions above); this fixes what it can.
project.addTask('lint:fix', {
  description: 'Run eslint and fix what it can in place',
  steps: [{ spawn: 'eslint', args: ['--fix'], receiveArgs: true }],
});

// lambda/ is bundled by esbuild, so its imports of dev dependencies end up in the assets.
project.eslint?.allowDevDeps('lambda/**');
// Type-aware linting (and editors) need a tsconfig that includes each non-jsii source folder.
for (const dir of ['lambda', 'bench', 'examples']) {
  new JsonFile(project, `${dir}/tsconfig.json`, {
    obj: {
      extends: '../tsconfig.json',
      compilerOptions: { noEmit: true, rootDir: '..', isolatedModules: true },
      include: ['**/*.ts'],
      exclude: ['node_modules', '**/cdk.out'],
    },
  });
}

project.gitignore.exclude('/examples/*/cdk.out/', '/bench/.build/');
project.npmignore?.exclude('/lambda/', '/examples/', '/bench/', '/docs/', '/.ci/', '/test-reports/', '/coverage/', '/API.md.tmp');

project.addTask('bench:bundles', {
  description: 'Measure handler bundle sizes and cold import time, SDK bundled vs the runtime\'s (bench/results/bundles.json)',
  exec: 'ts-node --project bench/tsconfig.json bench/bundles.ts',
});

project.addTask('bench:cost', {
  description: 'Count DynamoDB, API Gateway and Lambda requests per operation on the local server (bench/results/cost-counts.json)',
  exec: 'ts-node --project bench/tsconfig.json bench/cost-counts.ts',
});

project.addTask('bench:fanout', {
  description: 'Fan-out against a fake @connections endpoint and dynalite, next to sequential and unbounded designs (bench/results/fanout.json)',
  exec: 'ts-node --project bench/tsconfig.json bench/fanout.ts',
});

project.addTask('bench:ping', {
  description: 'The keepalive pinger over N connections: coordinator and workers next to one invocation, gaps between pings (bench/results/ping.json)',
  exec: 'ts-node --project bench/tsconfig.json bench/ping.ts',
});

project.addTask('bench:recovery', {
  description: 'Forced reconnects on the local server: broadcasts lost and recovery time, stock @rails/actioncable next to @anycable/core ext with default and tuned backoff (bench/results/recovery.json)',
  exec: 'ts-node --project bench/tsconfig.json bench/recovery.ts',
});

project.addTask('bench:local-load', {
  description: '2,000 clients on one Turbo stream: the local server next to a real Rails ActionCable server (bench/results/local-load.json)',
  exec: 'ts-node --project bench/tsconfig.json bench/local-load.ts',
});

project.addTask('bench:transport', {
  description: 'CPU per @connections post: SDK ApiGatewayTransport vs SignedConnectionsTransport (bench/results/transport.json)',
  exec: 'ts-node --project bench/tsconfig.json bench/transport.ts',
});

project.addTask('example:synth', {
  description: 'Synthesize examples/basic with the CDK CLI (no AWS credentials needed)',
  cwd: 'examples/basic',
  exec: 'cdk synth --quiet',
});

project.addTask('dev', {
  description: 'Run the local cable server (ws://localhost:8080/cable) from the bundled CLI',
  steps: [
    { spawn: 'bundle:lambda/local/cli' },
    { spawn: 'bundle:lambda/local/demo/demo-page' },
    { exec: `node ${cli.outfile} dev`, receiveArgs: true },
  ],
});

// The IAM proof (test/iam/, docs in test/iam/iam-check.ts): the shipped bundles run scenarios on the local
// server, every AWS call they make is evaluated against its function's synthesized role, and every grant no
// scenario used fails unless src/contract/permissions.ts says why. Transpile only: `typecheck` checks test/.
const iamCheck = project.addTask('iam:check', {
  description: 'Prove the functions\' IAM: recorded AWS calls of the bundles vs the synthesized roles, and unused grants',
  exec: 'ts-node --transpile-only --project test/tsconfig.json test/iam/iam-check.ts',
});
project.testTask.spawn(iamCheck);

// Mutation testing of the protocol core (docs/contributing.md): Stryker mutates lambda/core/**/*.ts and
// runs the tests that cover it (test/mutation/stryker.config.mjs), incrementally against
// reports/mutation/stryker-incremental.json, then writes reports/mutation/summary.json. Not part of `test`.
project.addTask('test:mutation', {
  description: 'Mutation testing of lambda/core with Stryker (incremental); score in reports/mutation/summary.json',
  steps: [
    { exec: 'stryker run test/mutation/stryker.config.mjs', receiveArgs: true },
    { exec: 'ts-node --transpile-only --project test/tsconfig.json test/mutation/summarize.ts' },
  ],
});
project.gitignore.exclude('/.stryker-tmp/', '/reports/mutation/mutation.html', '/reports/mutation/mutation.json');
project.npmignore?.exclude('/reports/', '/.stryker-tmp/');
// Source maps stay out of the package: they were 40 % of its packed size (docs/benchmarks.md,
// "Package"). `sourceMaps: true` fails at synth without them and says how to build them.
project.npmignore?.exclude('/assets/**/*.map');

// The deployable integration test (test/integ/integ.cable.ts, docs/integration-testing.md), run by
// test/integ/run.sh. The snapshot comparison needs no AWS account (about 20 s here), so `projen test`
// runs it last; `integ:snapshot:update` rewrites the snapshot offline; `integ:deploy` deploys,
// asserts with `cdk-cable check`'s scenario from a function in the stack, and destroys.
const integSnapshot = project.addTask('integ:snapshot', {
  description: 'Compare the synthesized integration test stacks with the committed snapshot (offline)',
  exec: 'bash test/integ/run.sh snapshot',
});
project.testTask.spawn(integSnapshot);
project.addTask('integ:snapshot:update', {
  description: 'Rewrite the integration test snapshot without deploying (review the diff before committing)',
  exec: 'bash test/integ/run.sh update',
});
project.addTask('integ:deploy', {
  description: 'Deploy the integration test stack to AWS_REGION (default us-east-1), run cdk-cable check from a function in it, destroy it (AWS credentials needed)',
  exec: 'bash test/integ/run.sh deploy',
  receiveArgs: true,
});

project.synth();
