import { registry } from "../api/registry.js";
import { ErrorMessage, Loading } from "../components/status.js";
import { useResource } from "../hooks/use-resource.js";
import { verifyReceipt } from "./verify-receipt.js";

/** Fetches an approval's receipt and re-verifies it in this browser, step by step. */
export function ReceiptPanel({ grantId }: { grantId: string }) {
  const result = useResource(`receipt:${grantId}`, async () => {
    const receipt = await registry.receipt(grantId);
    const checks = await verifyReceipt(receipt, { expectedOrigin: window.location.origin });
    return { receipt, checks };
  });
  if (result.data === undefined) {
    return result.error === undefined ? (
      <Loading label="Checking the receipt…" />
    ) : (
      <ErrorMessage error={result.error} title="Could not check the receipt" />
    );
  }
  const { receipt, checks } = result.data;
  const valid = checks.every((check) => check.ok);
  return (
    <section className="receipt" aria-label={`Receipt of ${grantId}`}>
      <p className={valid ? "receipt-verdict ok" : "receipt-verdict bad"} role="status">
        {valid
          ? "Receipt verified in this browser: your passkey approved exactly this grant."
          : "This receipt does not verify."}
      </p>
      <ul className="checks">
        {checks.map((check) => (
          <li key={check.label} className={check.ok ? "ok" : "bad"}>
            <span aria-hidden="true">{check.ok ? "✓" : "✗"}</span>{" "}
            <span className="visually-hidden">{check.ok ? "Passed:" : "Failed:"}</span>{" "}
            {check.label}
            {check.detail !== undefined && <span className="hint"> — {check.detail}</span>}
          </li>
        ))}
      </ul>
      <details>
        <summary>Receipt data (to verify elsewhere)</summary>
        <pre className="json">{JSON.stringify(receipt, null, 2)}</pre>
      </details>
    </section>
  );
}
