import sys

from oxmlx.bench import main

sys.exit(main())
