import { type ReactNode, useEffect } from "react";

/** The page's one `<h1>`; also names the browser tab. Focus moves here on navigation. */
export function PageTitle({ children, title }: { children: ReactNode; title: string }) {
  useEffect(() => {
    document.title = `${title} · AgentAuth`;
  }, [title]);
  return (
    <h1 tabIndex={-1} className="page-title">
      {children}
    </h1>
  );
}
