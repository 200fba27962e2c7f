/** A page's state at a glance: live, deleted or erased; taken down; how many reports. */
export function PageBadges({ state, takenDown, reports }: { state: string; takenDown: boolean; reports: number }) {
  return (
    <span className="admin-badges">
      <span className={`admin-badge admin-badge--${state}`} data-testid="page-state" data-state={state}>
        {state}
      </span>
      {takenDown && (
        <span className="admin-badge admin-badge--down" data-testid="page-taken-down-badge">
          taken down
        </span>
      )}
      {reports > 0 && (
        <span className="admin-badge admin-badge--reports" data-testid="page-reports-badge">
          {reports === 1 ? "1 report" : `${reports} reports`}
        </span>
      )}
    </span>
  );
}
