"""The last rank raises while the others wait in a collective: the job must end at once."""

import chainrule as cr
import chainrule.distributed as dist

dist.init_process_group("mpi")
if dist.get_rank() == dist.get_world_size() - 1:
    raise ValueError(f"boom from rank {dist.get_rank()}")
dist.all_reduce(cr.ones(3))  # never completes: the raising rank never joins
