import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's Chromium (`apt-get install -y chromium`); `.ci/run` installs it. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Whether to skip the browser tests: only on a developer machine without Chromium (the README's
 * two commands need nothing but Node). In CI (`CI=true`), a missing browser fails them instead.
 */
export function skipWithoutBrowser(): boolean {
  if (existsSync(CHROMIUM) || process.env.CI === "true") return false;
  console.warn(
    `Skipping the approval app's browser tests: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH).`,
  );
  return true;
}

export interface E2eBrowser {
  readonly context: BrowserContext;
  /** A new tab with its own CDP virtual authenticator (a platform passkey with UV). */
  newPage(): Promise<PasskeyPage>;
  close(): Promise<void>;
}

export interface PasskeyPage {
  readonly page: Page;
  /** Whether the authenticator's user verification (fingerprint, PIN…) succeeds. */
  setUserVerified(verified: boolean): Promise<void>;
  /** The passkeys the authenticator holds. */
  credentialCount(): Promise<number>;
  /**
   * Script errors and console errors of the page so far (a Content-Security-Policy violation is
   * one), leaving out the browser's notes on HTTP error statuses the tests cause on purpose.
   */
  errors(): string[];
}

/** One headless Chromium per test file, with its own temporary profile. */
export async function launchBrowser(): Promise<E2eBrowser> {
  const profile = await mkdtemp(join(tmpdir(), "agentauth-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1100, height: 900 },
  });
  context.setDefaultTimeout(Number(process.env.E2E_TIMEOUT ?? 15_000));
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
          errors.push(`console: ${message.text()}`);
        }
      });
      const cdp = await context.newCDPSession(page);
      await cdp.send("WebAuthn.enable");
      const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
        options: {
          protocol: "ctap2",
          transport: "internal",
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      });
      return {
        page,
        async setUserVerified(verified) {
          await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: verified });
        },
        async credentialCount() {
          const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
          return credentials.length;
        },
        errors: () => [...errors],
      };
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
