/**
 * What the platform (and, with real Postgres and Redis, the provisioner) logs as `msg` once its
 * first provisioning pass is done: the launcher starts the example service providers then.
 */
export const PLATFORM_READY_MESSAGE = "platform ready";
