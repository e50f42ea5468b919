"""deskact models: action codec and bundle loader (numpy only), policy and critic (torch)."""
