-- The built-in admin user: requests bearing ADMIN_TOKEN act as this user (see edge/src/auth/principal.ts).
INSERT OR IGNORE INTO `users` (`id`, `name`, `role`) VALUES ('00000000-0000-4000-8000-000000000001', 'admin', 'admin');
