import { prefersReducedMotion } from "@/lib/use-reduced-motion";

export type ConfettiOptions = {
  colors?: string[];
  /** Pieces per burst. */
  count?: number;
  durationMs?: number;
};

type Piece = {
  x: number;
  y: number;
  vx: number;
  vy: number;
  size: number;
  angle: number;
  spin: number;
  color: string;
  heart: boolean;
};

const DEFAULT_COLORS = ["#e91e63", "#f06292", "#ff8a80", "#ffd54f", "#ba68c8", "#ffffff"];
const GRAVITY = 0.16;
const DRAG = 0.985;

/**
 * Throws a burst of confetti (paper squares and little hearts) from both lower corners over
 * the whole window, then cleans up after itself. Does nothing for visitors who prefer
 * reduced motion. Returns a function that stops it early.
 */
export function launchConfetti({
  colors = DEFAULT_COLORS,
  count = 160,
  durationMs = 3200,
}: ConfettiOptions = {}): () => void {
  if (typeof document === "undefined" || prefersReducedMotion()) return () => {};
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d");
  if (!context) return () => {};

  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  const width = window.innerWidth;
  const height = window.innerHeight;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.setAttribute("aria-hidden", "true");
  canvas.dataset.testid = "confetti";
  canvas.className = "confetti-canvas";
  context.scale(ratio, ratio);
  document.body.appendChild(canvas);

  const pieces: Piece[] = [];
  const power = Math.max(9, Math.min(17, height / 48));
  for (let i = 0; i < count; i += 1) {
    const fromLeft = i % 2 === 0;
    // Tilted from straight up towards the middle of the window by 15 to 50 degrees.
    const tilt = Math.PI / 12 + (Math.random() * (Math.PI * 7)) / 36;
    const speed = power * (0.55 + Math.random() * 0.6);
    pieces.push({
      x: fromLeft ? width * 0.08 : width * 0.92,
      y: height * 0.95,
      vx: Math.sin(tilt) * speed * (fromLeft ? 1 : -1),
      vy: -Math.cos(tilt) * speed,
      size: 6 + Math.random() * 7,
      angle: Math.random() * Math.PI * 2,
      spin: (Math.random() - 0.5) * 0.3,
      color: colors[i % colors.length] ?? "#e91e63",
      heart: Math.random() < 0.3,
    });
  }

  const started = performance.now();
  let frame = 0;
  let stopped = false;

  const stop = () => {
    if (stopped) return;
    stopped = true;
    cancelAnimationFrame(frame);
    canvas.remove();
  };

  const draw = (now: number) => {
    const elapsed = now - started;
    if (elapsed > durationMs) {
      stop();
      return;
    }
    const fade = Math.min(1, (durationMs - elapsed) / (durationMs * 0.3));
    context.clearRect(0, 0, width, height);
    context.globalAlpha = fade;
    for (const p of pieces) {
      p.vx *= DRAG;
      p.vy = p.vy * DRAG + GRAVITY;
      p.x += p.vx;
      p.y += p.vy;
      p.angle += p.spin;
      context.save();
      context.translate(p.x, p.y);
      context.rotate(p.angle);
      context.fillStyle = p.color;
      if (p.heart) {
        drawHeart(context, p.size);
      } else {
        // A flat square seen turning: its height swings with the angle.
        context.fillRect(-p.size / 2, (-p.size / 2) * Math.cos(p.angle * 2), p.size, p.size * Math.cos(p.angle * 2));
      }
      context.restore();
    }
    frame = requestAnimationFrame(draw);
  };
  frame = requestAnimationFrame(draw);
  return stop;
}

function drawHeart(context: CanvasRenderingContext2D, size: number): void {
  const s = size / 2;
  context.beginPath();
  context.moveTo(0, s * 0.9);
  context.bezierCurveTo(-s * 1.6, -s * 0.2, -s * 0.6, -s * 1.4, 0, -s * 0.45);
  context.bezierCurveTo(s * 0.6, -s * 1.4, s * 1.6, -s * 0.2, 0, s * 0.9);
  context.fill();
}
