import { randomBytes } from "node:crypto";
import {
  createErrorHandler,
  healthRoutes,
  notFound,
  requestLog,
  validateRequest,
} from "@agentauth/examples-kit";
import { type AgentAuth, getAgentAuth } from "@agentauth/express";
import express, { type Express } from "express";
import type { Logger } from "pino";
import { z } from "zod";
import { PAYMENTS_ERROR_STATUS, PaymentsError } from "./errors.js";

/** A payment the example made, with who made it under which grant (from the verifier). */
export interface Payment {
  readonly id: string;
  readonly merchant: string;
  readonly amount: string;
  readonly currency: string;
  readonly reference: string | undefined;
  readonly agent: string;
  readonly grant: string;
  readonly human: string;
  /** The access token it was made with (`jti`): a per-task token's, when a task paid. */
  readonly tokenId: string;
  readonly createdAt: Date;
}

export interface PaymentsAppDeps {
  /** `createAgentAuth(…)` for this service provider. */
  readonly agentAuth: AgentAuth;
  /** Who can be paid. */
  readonly merchants: readonly string[];
  readonly clock: { now(): Date };
  readonly logger: Logger;
  /** Told of every payment made (the example keeps them in memory; a real one books them). */
  readonly onPayment?: (payment: Payment) => void;
}

const URN = "urn:agentauth:example-payments";

const paymentBody = z.strictObject({
  merchant: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: "must be a merchant id" }),
  // The shape only: whether the amount is valid for its currency is the verifier's decision.
  amount: z
    .string()
    .regex(/^\d{1,15}(\.\d{1,4})?$/, { error: 'must be a decimal string, e.g. "12.50"' }),
  currency: z.string().regex(/^[A-Z]{3}$/, { error: "must be an ISO 4217 code" }),
  reference: z.string().min(1).max(140).optional(),
});
type PaymentBody = z.output<typeof paymentBody>;

/**
 * The payments example: `POST /v1/payments` moves money to a merchant under a `transact`
 * capability on `merchant/<id>`. The verifier enforces what the human set in the grant — the
 * per-transaction maximum, the daily spend cap, the step-up threshold — and the middleware
 * answers each refusal; the app validates the request first (so a request it would refuse
 * anyway never counts against the agent's budget) and books what was allowed.
 */
export function createPaymentsApp(deps: PaymentsAppDeps): Express {
  const { agentAuth, logger, clock } = deps;
  const merchants = new Set(deps.merchants);

  const app = express();
  app.disable("x-powered-by");
  app.use(requestLog(logger));
  app.use(healthRoutes(async () => {}));
  app.use("/v1", (_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    next();
  });

  app.post(
    "/v1/payments",
    express.json({ limit: 4096 }),
    validateRequest(
      (req) => {
        const body = paymentBody.parse(req.body);
        if (!merchants.has(body.merchant))
          throw new PaymentsError("ERR_UNKNOWN_MERCHANT", `No merchant ${body.merchant}`);
      },
      (problems) => new PaymentsError("ERR_VALIDATION", problems),
    ),
    agentAuth.requireCapability({
      type: "transact",
      resource: (req) => `merchant/${(req.body as PaymentBody).merchant}`,
      amount: (req) => {
        const { amount, currency } = req.body as PaymentBody;
        return { amount, currency };
      },
    }),
    (req, res) => {
      // Allowed: the verifier has counted this amount against the grant's spend caps.
      const context = getAgentAuth(req);
      const body = req.body as PaymentBody;
      const payment: Payment = {
        id: `pay_${randomBytes(12).toString("base64url")}`,
        merchant: body.merchant,
        amount: body.amount,
        currency: body.currency,
        reference: body.reference,
        agent: context.agent,
        grant: context.grant,
        human: context.human,
        tokenId: context.tokenId,
        createdAt: clock.now(),
      };
      deps.onPayment?.(payment);
      logger.info(
        {
          payment: payment.id,
          merchant: payment.merchant,
          amount: payment.amount,
          currency: payment.currency,
          grant: payment.grant,
        },
        "payment made",
      );
      res.status(201).json({
        ...presentPayment(payment),
        // What the human's limits leave today, so the agent can plan its next payment.
        remaining: context.remaining,
      });
    },
  );

  app.use(notFound(URN));
  app.use(
    createErrorHandler({
      logger,
      urn: URN,
      known: (error) => {
        if (!(error instanceof PaymentsError)) return undefined;
        return {
          status: PAYMENTS_ERROR_STATUS[error.code],
          code: error.code,
          detail: error.message,
        };
      },
    }),
  );
  return app;
}

function presentPayment(payment: Payment) {
  return {
    id: payment.id,
    merchant: payment.merchant,
    amount: payment.amount,
    currency: payment.currency,
    reference: payment.reference ?? null,
    agent: payment.agent,
    grant: payment.grant,
    human: payment.human,
    token_id: payment.tokenId,
    created_at: payment.createdAt.toISOString(),
  };
}
