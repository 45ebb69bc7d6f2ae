// The demo page script (see issue 8); replaced by the demo page work.
