import { CableFunctionEnvironment, SecretName } from '../../src/contract/environment';
import { CableSettings } from '../core/config';

/**
 * The core's settings from a function's environment (src/contract/environment.ts), without the
 * secrets: those are read apart (`aws-runtime.ts`), and only by the functions that need them.
 */
export function settingsFromEnvironment(env: CableFunctionEnvironment): Omit<CableSettings, SecretName> {
  return {
    turboStreams: env.turboStreams,
    publicStreams: env.publicStreams,
    streamsWhisper: env.streamsWhisper,
    streamsPresence: env.streamsPresence,
    presenceTtlSeconds: env.presenceTtlSeconds,
    allowedOrigins: env.allowedOrigins,
    ttlSeconds: env.ttlSeconds,
    delivery: env.delivery,
    ping: env.ping,
    maxConnectionAgeSeconds: env.maxConnectionAgeSeconds,
    jwtParam: env.jwtParam,
    enforceJwt: env.enforceJwt,
    rpcHeaders: env.rpcHeaders,
    rpcCookies: env.rpcCookies,
    limits: env.limits,
    history: env.history,
    originHeader: env.originHeader,
  };
}
