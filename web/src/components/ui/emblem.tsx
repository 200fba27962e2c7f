type EmblemProps = { kind: "heart" | "broken-heart" | "letter" };

const HEART = "M32 56S8 40.8 8 24a13 13 0 0 1 24-7 13 13 0 0 1 24 7c0 16.8-24 32-24 32z";

/**
 * A large decorative picture at the top of a screen, drawn in SVG so it looks the same
 * everywhere (emoji fonts vary, and some systems have none).
 */
export function Emblem({ kind }: EmblemProps) {
  return (
    <svg
      className={`emblem emblem--${kind}`}
      viewBox="0 0 64 64"
      width="64"
      height="64"
      aria-hidden="true"
      focusable="false"
    >
      {kind === "heart" && <path d={HEART} fill="currentColor" />}
      {kind === "broken-heart" && (
        <>
          <path d="M32 56S8 40.8 8 24a13 13 0 0 1 24-7l-4 10 6 6-5 9 3 14z" fill="currentColor" />
          <path
            d="M35 56l-2-13 6-9-6-6 3-8.5A13 13 0 0 1 56 24c0 16-19.5 29.6-21 32z"
            fill="currentColor"
            opacity="0.75"
          />
        </>
      )}
      {kind === "letter" && (
        <>
          <rect x="6" y="16" width="52" height="36" rx="5" fill="currentColor" />
          <path d="M8 19l24 18 24-18" fill="none" stroke="#fff" strokeWidth="3" strokeLinejoin="round" opacity="0.85" />
          <path d="M32 40s-8-4.9-8-10.3a4.2 4.2 0 0 1 8-2.2 4.2 4.2 0 0 1 8 2.2C40 35.1 32 40 32 40z" fill="#fff" />
        </>
      )}
    </svg>
  );
}
