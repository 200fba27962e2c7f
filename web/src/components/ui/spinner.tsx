/** A small beating heart that says something is on its way. */
export function Spinner({ label = "Loading" }: { label?: string }) {
  return (
    <span className="spinner" role="status">
      <span className="spinner-heart" aria-hidden="true">
        ♥
      </span>
      <span className="visually-hidden">{label}</span>
    </span>
  );
}
