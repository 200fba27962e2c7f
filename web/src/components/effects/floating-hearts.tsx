import type { CSSProperties } from "react";

type FloatingHeartsProps = {
  /** How many hearts drift up. */
  count?: number;
  color?: string;
  /** `fixed` covers the window behind everything; `contained` fills the nearest positioned parent. */
  placement?: "fixed" | "contained";
};

// A fixed spread instead of Math.random, so the hearts sit in the same places on every
// render and nothing jumps when React renders again.
function spread(i: number, salt: number): number {
  const x = Math.sin(i * 12.9898 + salt * 78.233) * 43758.5453;
  return x - Math.floor(x);
}

/** Hearts that drift slowly upwards; decoration only, hidden from assistive technology. */
export function FloatingHearts({ count = 14, color, placement = "fixed" }: FloatingHeartsProps) {
  const hearts = Array.from({ length: count }, (_, i) => {
    const style = {
      "--heart-left": `${(spread(i, 1) * 96 + 2).toFixed(1)}%`,
      "--heart-size": `${(0.8 + spread(i, 2) * 1.6).toFixed(2)}rem`,
      "--heart-duration": `${(11 + spread(i, 3) * 12).toFixed(1)}s`,
      "--heart-delay": `${(-spread(i, 4) * 20).toFixed(1)}s`,
      "--heart-drift": `${((spread(i, 5) - 0.5) * 6).toFixed(1)}rem`,
      "--heart-opacity": (0.18 + spread(i, 6) * 0.35).toFixed(2),
      color,
    } as CSSProperties;
    return (
      <span key={i} className="floating-heart" style={style}>
        ♥
      </span>
    );
  });
  return (
    <div className={`floating-hearts floating-hearts--${placement}`} aria-hidden="true">
      {hearts}
    </div>
  );
}
