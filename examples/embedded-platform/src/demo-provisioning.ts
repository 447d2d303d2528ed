import { rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { type DemoServiceProvider, readApiKeyFile, writeApiKeyFile } from "@agentauth/examples-kit";
import {
  type AuditActor,
  findServiceProviderKey,
  issueServiceProviderKey,
  type RegistryDatabase,
  registerServiceProvider,
  type ServiceProviderKeyPublisher,
} from "@agentauth/registry";
import type { Logger } from "pino";

// A service provider's API key is shown once, to the admin who creates it. For `npm start` to
// run the example service providers with nobody copying keys around, this demo host registers
// them and issues their keys itself, through the registry's own functions, as the system on
// behalf of the first admin (audited with actor "system", `via: "embedded-platform"`). Demo
// only: in production an admin registers service providers in the approval app and keeps each
// key in a secret store.

/** How the platform appears in the audit chain. */
const PLATFORM: AuditActor = { kind: "system", via: "embedded-platform" };

type Db = RegistryDatabase["db"];

/** What happened to one demo service provider in a provisioning pass. */
export type ProvisionedStatus =
  /** Registered now, with a new API key. */
  | "registered"
  /** Already registered; a new API key was issued (there was none, or the file's is unknown). */
  | "key-issued"
  /** Registered, and the key file's key is valid: nothing to do. */
  | "unchanged"
  /** An admin disabled it in the approval app: left alone, no key. */
  | "disabled"
  /** An admin revoked the file's key: left alone (delete the file to have a new one issued). */
  | "key-revoked";

export interface ProvisionedServiceProvider {
  readonly id: string;
  readonly keyFile: string;
  readonly status: ProvisionedStatus;
}

export type ProvisionOutcome =
  | { readonly kind: "waiting-for-admin" }
  | { readonly kind: "provisioned"; readonly providers: readonly ProvisionedServiceProvider[] };

export interface ProvisionDemoServiceProvidersOptions {
  readonly db: Db;
  /**
   * Publishes API keys to the verifiers' key directory (the registry's own, or one on the same
   * Redis): each key the pass issues or finds valid, once its change has committed.
   */
  readonly keyPublisher: Pick<ServiceProviderKeyPublisher, "publish">;
  readonly providers: readonly DemoServiceProvider[];
  /** Directory of the key files (`<data dir>/examples`). */
  readonly keyDir: string;
  readonly now: () => Date;
  readonly logger: Logger;
}

/** The key file of `provider` in `keyDir`. */
export function apiKeyFileOf(keyDir: string, provider: DemoServiceProvider): string {
  return join(keyDir, provider.keyFileName);
}

/**
 * One provisioning pass: once an enabled admin exists, registers every demo service provider
 * that is not registered and makes sure its key file holds a valid API key, issuing one (mode
 * 0600 file, written before the commit) when needed. Idempotent; respects what admins did in the
 * approval app (a disabled provider or revoked key is reported, not undone).
 */
export async function provisionDemoServiceProviders(
  options: ProvisionDemoServiceProvidersOptions,
): Promise<ProvisionOutcome> {
  const admin = await options.db
    .selectFrom("humans")
    .select("id")
    .where("is_admin", "=", true)
    .where("disabled_at", "is", null)
    .orderBy("created_at")
    .limit(1)
    .executeTakeFirst();
  if (admin === undefined) {
    // No admin means a fresh database (the last admin cannot be disabled): key files left from
    // an earlier one are stale, and a service provider must not start with them.
    for (const provider of options.providers) {
      await rm(apiKeyFileOf(options.keyDir, provider), { force: true });
    }
    return { kind: "waiting-for-admin" };
  }
  const providers: ProvisionedServiceProvider[] = [];
  for (const provider of options.providers) {
    providers.push(await provisionOne(options, provider, admin.id));
  }
  return { kind: "provisioned", providers };
}

async function provisionOne(
  options: ProvisionDemoServiceProvidersOptions,
  provider: DemoServiceProvider,
  adminId: string,
): Promise<ProvisionedServiceProvider> {
  const keyFile = apiKeyFileOf(options.keyDir, provider);
  const fileKey = await readApiKeyFile(keyFile);
  const published: string[] = [];
  const status = await options.db.transaction().execute(async (trx) => {
    const now = options.now();
    const existing = await trx
      .selectFrom("service_providers")
      .select(["id", "disabled_at"])
      .where("id", "=", provider.id)
      .executeTakeFirst();
    if (existing?.disabled_at != null) return "disabled" as const;
    if (existing === undefined) {
      await registerServiceProvider(
        trx,
        {
          id: provider.id,
          name: provider.name,
          ceiling: provider.ceiling,
          createdBy: adminId,
          now,
        },
        PLATFORM,
      );
    } else if (fileKey !== undefined) {
      const known = await findServiceProviderKey(trx, fileKey);
      if (known?.serviceProviderId === provider.id) {
        if (known.revoked) return "key-revoked" as const;
        published.push(known.id);
        return "unchanged" as const;
      }
    }
    const issued = await issueServiceProviderKey(
      trx,
      { serviceProviderId: provider.id, now },
      PLATFORM,
    );
    // Before the commit: a commit that fails leaves a key the next pass finds unknown and replaces.
    await writeApiKeyFile(keyFile, issued.key);
    published.push(issued.id);
    return existing === undefined ? ("registered" as const) : ("key-issued" as const);
  });
  if (published.length > 0) await options.keyPublisher.publish({ keyIds: published });
  if (status === "disabled" || status === "key-revoked") {
    options.logger.warn(
      { serviceProvider: provider.id, status, keyFile },
      status === "disabled"
        ? "demo service provider disabled by an admin: no API key for it"
        : "demo service provider's API key revoked by an admin; delete its key file and restart for a new one",
    );
  } else if (status !== "unchanged") {
    options.logger.info(
      { serviceProvider: provider.id, status, keyFile },
      "demo service provider provisioned",
    );
  }
  return { id: provider.id, keyFile, status };
}

export interface DemoProvisioning {
  /** Settles with the outcome of the first pass (rejects if it failed). */
  readonly firstPass: Promise<ProvisionOutcome>;
  /** Settles with the first pass that found an admin (or rejects when stopped before). */
  readonly provisioned: Promise<readonly ProvisionedServiceProvider[]>;
  stop(): Promise<void>;
}

/**
 * Runs {@link provisionDemoServiceProviders} now and then every `intervalMs` until a pass finds
 * an admin: on a fresh install, right after the first human enrols with the printed link.
 */
export function startDemoProvisioning(
  options: ProvisionDemoServiceProvidersOptions & { readonly intervalMs?: number },
): DemoProvisioning {
  const controller = new AbortController();
  let told = false;
  let settleFirst: ((outcome: Promise<ProvisionOutcome>) => void) | undefined;
  const firstPass = new Promise<ProvisionOutcome>((resolve) => {
    settleFirst = resolve;
  });
  const provisioned = (async () => {
    for (;;) {
      controller.signal.throwIfAborted();
      try {
        const pass = provisionDemoServiceProviders(options);
        settleFirst?.(pass);
        settleFirst = undefined;
        const outcome = await pass;
        if (outcome.kind === "provisioned") return outcome.providers;
        if (!told) {
          told = true;
          options.logger.info(
            "the demo service providers will be registered once the first human has enrolled",
          );
        }
      } catch (error) {
        options.logger.warn(
          { err: error },
          "provisioning the demo service providers failed; retrying",
        );
      }
      await delay(options.intervalMs ?? 1_000, undefined, { signal: controller.signal });
    }
  })();
  // The caller may never look at it (it stops first); that is not an unhandled rejection.
  provisioned.catch(() => {});
  firstPass.catch(() => {});
  return {
    firstPass,
    provisioned,
    async stop() {
      controller.abort();
      await provisioned.catch(() => {});
    },
  };
}
