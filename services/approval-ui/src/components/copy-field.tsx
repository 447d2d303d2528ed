import { useId, useState } from "react";

/**
 * A one-time secret or link, shown read-only with a copy button. It lives in React state only:
 * it is gone when the page is left, and never written to storage.
 */
export function CopyField({ label, value }: { label: string; value: string }) {
  const id = useId();
  const [copied, setCopied] = useState(false);
  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="copy-field-row">
        <input
          id={id}
          readOnly
          value={value}
          spellCheck={false}
          onFocus={(event) => event.target.select()}
        />
        <button
          type="button"
          className="button-secondary"
          onClick={() => {
            navigator.clipboard?.writeText(value).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          Copy
        </button>
      </div>
      <span className="hint" role="status">
        {copied ? "Copied." : ""}
      </span>
    </div>
  );
}
