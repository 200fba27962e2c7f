import { createContext, useContext } from "react";

/** The signed-in admin, for every screen of the console. */
export type AdminSession = {
  token: string;
  admin: string;
  /** Forgets the token; `notice` says why, on the sign-in screen. */
  signOut: (notice?: string) => void;
};

export const AdminContext = createContext<AdminSession | null>(null);

/** The signed-in admin; only inside the console's signed-in screens. */
export function useAdmin(): AdminSession {
  const session = useContext(AdminContext);
  if (!session) throw new Error("useAdmin outside the signed-in console");
  return session;
}
