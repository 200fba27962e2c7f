import type { ReactNode } from "react";

type NoticeProps = {
  tone?: "info" | "success" | "warning" | "error";
  title?: string;
  children?: ReactNode;
  testId?: string;
};

/** A boxed message; errors and warnings are announced as alerts. */
export function Notice({ tone = "info", title, children, testId }: NoticeProps) {
  const urgent = tone === "error" || tone === "warning";
  return (
    <div className={`notice notice--${tone}`} role={urgent ? "alert" : "status"} data-testid={testId}>
      {title && <p className="notice-title">{title}</p>}
      {children && <div className="notice-body">{children}</div>}
    </div>
  );
}
