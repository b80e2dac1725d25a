export const ensureLeadingSlash = (p: string): string => (p.startsWith('/') ? p : `/${p}`);
