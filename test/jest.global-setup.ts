/**
 * Jest's globalSetup: runs once in the parent process before any worker starts, so what it puts
 * in process.env reaches every test file and every process the tests spawn (the local server CLI,
 * the bundled functions), which inherit it.
 */
export default function globalSetup(): void {
  // The AWS SDK for JavaScript warns, once per process, that it will require Node.js 22
  // (@aws-sdk/core's emitWarningIfUnsupportedVersion). The functions run on Node.js 22 in Lambda;
  // the tests run on whatever Node.js the machine has. This is the variable the SDK reads to
  // stay quiet; an explicit value in the caller's environment is kept.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
