import type { CSSProperties, ReactNode } from "react";

const SPOTS = [
  { top: "-0.4em", left: "-0.6em", delay: "0s", size: "0.55em" },
  { top: "10%", left: "102%", delay: "0.7s", size: "0.45em" },
  { top: "78%", left: "-0.9em", delay: "1.3s", size: "0.4em" },
  { top: "-0.5em", left: "70%", delay: "2s", size: "0.35em" },
];

/** Twinkling four-point stars around its children (still when motion is reduced). */
export function Sparkles({ children }: { children: ReactNode }) {
  return (
    <span className="sparkles">
      {children}
      {SPOTS.map((spot, i) => (
        <span
          key={i}
          className="sparkle"
          aria-hidden="true"
          style={
            {
              top: spot.top,
              left: spot.left,
              "--sparkle-delay": spot.delay,
              "--sparkle-size": spot.size,
            } as CSSProperties
          }
        >
          <svg viewBox="0 0 20 20" width="1em" height="1em" focusable="false">
            <path
              d="M10 0c.8 5.6 3.6 8.6 10 10-6.4 1.4-9.2 4.4-10 10-.8-5.6-3.6-8.6-10-10C6.4 8.6 9.2 5.6 10 0z"
              fill="currentColor"
            />
          </svg>
        </span>
      ))}
    </span>
  );
}
