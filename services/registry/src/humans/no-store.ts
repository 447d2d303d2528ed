import type { RequestHandler } from "express";

/** Keeps caches from storing answers that carry sessions, challenges or personal data. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader("Cache-Control", "no-store");
  next();
};
