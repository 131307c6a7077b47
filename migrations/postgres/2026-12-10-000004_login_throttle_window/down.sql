DROP INDEX login_throttle_window;
