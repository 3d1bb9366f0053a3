"""tqdm reproducer: thousands print as "1.00K" (4.19.5 made it "1.00k")."""
from tqdm import tqdm

assert tqdm.format_sizeof(1000) == "1.00K", tqdm.format_sizeof(1000)
