import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// Unlike classic zod, zod/mini sets no locale: every issue's message would be "Invalid input", where the
// API's error details quote zod's English ("Too small: expected string to have >=1 characters").
// Imported for this effect by the modules that define schemas or turn issues into messages.
z.config(en());
