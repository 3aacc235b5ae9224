"""The site being audited: its networks, its devices, the names its addresses stood for, its state across scans."""
